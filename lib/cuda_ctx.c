/* cuda_ctx.c — the table of convolution algorithms chosen per shape (cuda_ctx.h): plain host
 * code, built with or without CUDA. A linear scan: a network has a few hundred distinct
 * convolution calls at most, and a lookup costs far less than the convolution it serves. */
#include "lib/cuda_ctx.h"

#include <stdlib.h>

void cuda_conv_cache_init(cuda_conv_cache *cache)
{
    cache->keys = NULL;
    cache->choices = NULL;
    cache->count = 0;
    cache->cap = 0;
}

void cuda_conv_cache_free(cuda_conv_cache *cache)
{
    free(cache->keys);
    free(cache->choices);
    cuda_conv_cache_init(cache);
}

static int cuda_conv_key_equal(const cuda_conv_key *a, const cuda_conv_key *b)
{
    return a->dir == b->dir && a->n == b->n && a->cin == b->cin && a->h == b->h &&
           a->w == b->w && a->cout == b->cout && a->k == b->k && a->stride == b->stride &&
           a->pad == b->pad && a->tf32 == b->tf32;
}

/* Index of the stored key equal to key, or -1. */
static int cuda_conv_cache_index(const cuda_conv_cache *cache, const cuda_conv_key *key)
{
    for (int i = 0; i < cache->count; i++)
        if (cuda_conv_key_equal(&cache->keys[i], key))
            return i;
    return -1;
}

int cuda_conv_cache_find(const cuda_conv_cache *cache, const cuda_conv_key *key,
                         cuda_conv_choice *choice)
{
    int i = cuda_conv_cache_index(cache, key);
    if (i < 0)
        return 0;
    *choice = cache->choices[i];
    return 1;
}

void cuda_conv_cache_put(cuda_conv_cache *cache, const cuda_conv_key *key,
                         const cuda_conv_choice *choice)
{
    int i = cuda_conv_cache_index(cache, key);
    if (i >= 0) {
        cache->choices[i] = *choice;
        return;
    }
    if (cache->count == cache->cap) {
        int cap = cache->cap ? 2 * cache->cap : 32;
        cuda_conv_key *keys = realloc(cache->keys, (size_t)cap * sizeof *keys);
        RD_CHECK(keys != NULL, "out of memory growing the convolution algorithm table to %d", cap);
        cache->keys = keys;
        cuda_conv_choice *choices = realloc(cache->choices, (size_t)cap * sizeof *choices);
        RD_CHECK(choices != NULL, "out of memory growing the convolution algorithm table to %d",
                 cap);
        cache->choices = choices;
        cache->cap = cap;
    }
    cache->keys[cache->count] = *key;
    cache->choices[cache->count] = *choice;
    cache->count++;
}
