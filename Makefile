# rankdet — build, test and run.
#   make            build bin/rankdet (CPU; the CUDA backend when nvcc is found)
#   make test       install missing Debian packages, build, run every check suite
#   make demo       install, build, run the built-in main job
#   make toy        the toy convergence study (Proposition 1, Figure 5b on toy data)
#   make deps       install missing Debian packages (non-interactive apt-get)
#   make CUDA=0|1   force the CUDA backend off or on
#   make DEBUG=1    ASan + UBSan build (build/debug/, bin/rankdet-debug)
#   make clean

CUDA_FOUND := $(shell command -v nvcc >/dev/null 2>&1 && echo 1 || echo 0)
CUDA ?= $(CUDA_FOUND)
DEBUG ?= 0
BUILD := build
BIN := bin/rankdet

PKG_LIBS = hdf5 gsl openblas libjpeg libpng libxml-2.0 libcjson
CC := gcc
CFLAGS = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -fopenmp -I. \
         $(shell pkg-config --cflags $(PKG_LIBS))
LDLIBS = -lgsl $(shell pkg-config --libs hdf5 openblas libjpeg libpng libxml-2.0 libcjson) -lm
LDFLAGS = -fopenmp
ifeq ($(DEBUG),1)
  CFLAGS += -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  LDFLAGS += -fsanitize=address,undefined
  BUILD := build/debug
  BIN := bin/rankdet-debug
else
  CFLAGS += -O3 -g -march=x86-64-v3
endif
# The CUDA backend: every .cu file beside its CPU twin, compiled by nvcc for the H100 (sm_90)
# with PTX for newer GPUs; the CUDA libraries are found beside nvcc (rpath set).
CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(shell command -v nvcc 2>/dev/null))
NVCC := $(CUDA_HOME)/bin/nvcc
NVCCFLAGS = -std=c++17 -O3 -I. -DRANKDET_CUDA=1 -Werror all-warnings \
            -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90 \
            -Xcompiler -Wall,-Wextra,-Werror
CU_SRC :=
ifeq ($(CUDA),1)
  CFLAGS += -DRANKDET_CUDA=1 -I$(CUDA_HOME)/include
  CU_SRC := $(wildcard lib/*.cu optim/*.cu detector/*.cu data/*.cu)
  LDLIBS += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcudnn -lcublas -lcudart -lstdc++
endif

# Every module folder compiles into one library; experiments/ holds the entry points.
LIB_SRC := $(wildcard lib/*.c optim/*.c detector/*.c data/*.c analysis/*.c)
APP_SRC := $(wildcard experiments/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o) $(CU_SRC:%.cu=$(BUILD)/%.cu.o)
APP_OBJ := $(APP_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TEST_SUPPORT_OBJ := $(patsubst tests/%.c,$(BUILD)/tests/%.o,$(filter-out $(TEST_SRC),$(wildcard tests/*.c)))
GIT_COMMIT := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)

.PHONY: all deps test check-run demo demo-run toy toy-run clean FORCE
all: $(BIN)

deps:
	@./tests/deps.sh

$(BIN): $(APP_OBJ) $(BUILD)/librankdet.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/librankdet.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# The experiment modules (training runs, evaluation, benchmarks) without the entry point, for
# the suites that test them.
$(BUILD)/libexperiments.a: $(filter-out $(BUILD)/experiments/main.o,$(APP_OBJ))
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/%.cu.o: %.cu
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCCFLAGS) -MMD -MP -c $< -o $@

# The version object is rebuilt when the commit (or a dirty tree) changes, so run logs carry
# the current commit.
COMMIT_STAMP := $(BUILD)/commit.stamp
$(shell mkdir -p $(BUILD); echo '$(GIT_COMMIT)' | cmp -s - $(COMMIT_STAMP) || echo '$(GIT_COMMIT)' > $(COMMIT_STAMP))
$(BUILD)/experiments/version.o: experiments/version.c $(COMMIT_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DRANKDET_GIT_COMMIT='"$(GIT_COMMIT)"' -c $< -o $@

# Test support files (tests/*.c other than test_*.c: the check main, shared helpers) link into
# every suite.
$(BUILD)/tests/test_%: tests/test_%.c $(TEST_SUPPORT_OBJ) $(BUILD)/libexperiments.a \
                      $(BUILD)/librankdet.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(shell pkg-config --cflags check) -o $@ $< $(TEST_SUPPORT_OBJ) \
	  $(BUILD)/libexperiments.a $(BUILD)/librankdet.a $(LDLIBS) $(shell pkg-config --libs check) $(LDFLAGS)

$(TEST_SUPPORT_OBJ): $(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(shell pkg-config --cflags check) -MMD -MP -c $< -o $@

test: deps
	@$(MAKE) --no-print-directory check-run

check-run: $(BIN) $(TEST_BIN)
	@./tests/run.sh $(BIN) $(TEST_BIN)

demo: deps
	@$(MAKE) --no-print-directory demo-run

demo-run: $(BIN)
	@./experiments/demo.sh $(BIN)

toy: deps
	@$(MAKE) --no-print-directory toy-run

toy-run: $(BIN)
	@./experiments/toy.sh $(BIN)

clean:
	rm -rf build bin

FORCE:

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# The paper's experiments (make table1 table2 table3 figure5 paper paper-tables).
-include experiments/paper.mk
