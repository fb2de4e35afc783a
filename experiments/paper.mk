# experiments/paper.mk — the experiments of the AP-loss paper (Chen et al., CVPR 2019, Section 4)
# as make targets, included by the Makefile. Each target runs experiments/sweep.sh (`rankdet
# train` for every variant × seed, into results/<experiment>/<preset>-<data>/<variant>/seed<k>/,
# results/README.md), then renders: `rankdet tables` (paper_tables/generated/tableN.md, .tex)
# and experiments/figures.sh (PNG and SVG beside the results).
#   make table1    Table 1: a batch size 1/2/4/8, b δ 0.25/0.5/1/2 (and the δ sweep figure),
#                  c interpolation no/yes
#   make table2    Table 2: ce_ohem, focal, auc, ap
#   make table3    Table 3: ResNet-101, single- and multi-scale test
#   make figure5   Figure 5a (AP over training per loss) and 5b (training AP-loss of ap,
#                  approx_ap, hinge_ap without box regression)
#   make paper     all of them;  make paper-tables  the tables from the results there are
# Knobs: PRESET=tiny (default; synthetic shapes, minutes a run on a CPU) | smoke (seconds, for
# tests) | paper (Section 4.1 exactly; needs VOC=DEVKIT and/or COCO=ROOT, and weights/); DATA=
# any VOC, COCO or YOLO dataset; SEEDS=n (default 1; tables show mean ± std); VOC= COCO=;
# THREADS=n; RESULTS=DIR (default results); VARIANTS=a,b; ARGS="key=value ..." (every run);
# WEIGHTS=DIR (default weights). See experiments/sweep.sh and README.md, "Reproducing the paper".

PRESET ?= tiny
DATA ?=
SEEDS ?= 1
VOC ?=
COCO ?=
THREADS ?=
RESULTS ?= results
VARIANTS ?=
ARGS ?=
WEIGHTS ?= weights
TABLES_OUT ?= paper_tables/generated

PAPER_KNOBS = PRESET='$(PRESET)' DATA='$(DATA)' SEEDS='$(SEEDS)' VOC='$(VOC)' COCO='$(COCO)' \
  THREADS='$(THREADS)' RESULTS='$(RESULTS)' VARIANTS='$(VARIANTS)' ARGS='$(ARGS)' \
  WEIGHTS='$(WEIGHTS)' BIN='$(BIN)'
PAPER_SWEEP = ./experiments/sweep.sh
PAPER_TABLES = $(BIN) tables --results '$(RESULTS)' --paper paper_tables --out '$(TABLES_OUT)'
# paper_figures KIND EXPERIMENT: draw KIND in every <preset>-<data>/ folder of this preset.
paper_figures = for d in '$(RESULTS)'/$(2)/$(PRESET)-*/; do [ -d "$$d" ] || continue; \
  ./experiments/figures.sh $(BIN) $(1) "$$d" "$$d" || exit 1; done

.PHONY: table1 table2 table3 figure5 paper paper-tables \
        table1-run table2-run table3-run figure5-run paper-run paper-tables-run

table1 table2 table3 figure5 paper paper-tables: deps
	@$(MAKE) --no-print-directory $@-run

table1-run: $(BIN)
	$(PAPER_SWEEP) table1a $(PAPER_KNOBS)
	$(PAPER_SWEEP) table1b $(PAPER_KNOBS)
	$(PAPER_SWEEP) table1c $(PAPER_KNOBS)
	$(PAPER_TABLES)
	@$(call paper_figures,delta_sweep,table1b)

table2-run: $(BIN)
	$(PAPER_SWEEP) table2 $(PAPER_KNOBS)
	$(PAPER_TABLES)

table3-run: $(BIN)
	$(PAPER_SWEEP) table3 $(PAPER_KNOBS)
	$(PAPER_TABLES)

figure5-run: $(BIN)
	$(PAPER_SWEEP) figure5a $(PAPER_KNOBS)
	$(PAPER_SWEEP) figure5b $(PAPER_KNOBS)
	@$(call paper_figures,fig5a,figure5a)
	@$(call paper_figures,fig5b,figure5b)

paper-run: table1-run table2-run table3-run figure5-run

paper-tables-run: $(BIN)
	$(PAPER_TABLES)
