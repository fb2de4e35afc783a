/* assign.c — label assignment of one image (see assign.h): torchvision 0.14's
 * box_ops.box_iou + Matcher(0.5, 0.4, allow_low_quality_matches=True) as RetinaNet.compute_loss
 * uses them, and the AP-loss released code's rule (lib/model/aploss.py), without the A × G
 * matrix: a row pass keeps each anchor's maximum and each gt's maximum, a second pass
 * recomputes the rows of the anchors that can be a gt's best, and a last pass ignores anchors
 * covered by crowd boxes. */
#include "detector/assign.h"

#include <string.h>

#include "lib/check.h"

/* Boxes as structure of arrays, so the row loop vectorises. */
typedef struct assign_soa {
    float *x1, *y1, *x2, *y2, *area;  // [n]
    int32_t *index;                   // [n] position in the caller's arrays
    int n;
} assign_soa;

static void assign_soa_push(rd_arena *ws, assign_soa *s, int n)
{
    float **fields[5] = {&s->x1, &s->y1, &s->x2, &s->y2, &s->area};
    for (int f = 0; f < 5; f++)
        *fields[f] = rd_arena_push(ws, (size_t)n * sizeof(float));
    s->index = rd_arena_push(ws, (size_t)n * sizeof(int32_t));
    s->n = 0;
}

static void assign_soa_add(assign_soa *s, const rd_box *b, int32_t index)
{
    int k = s->n++;
    s->x1[k] = b->x1;
    s->y1[k] = b->y1;
    s->x2[k] = b->x2;
    s->y2[k] = b->y2;
    s->area[k] = (b->x2 - b->x1) * (b->y2 - b->y1);  // box_ops.box_area, unclamped
    s->index[k] = index;
}

/* row[g] = IoU(anchor a, gt g) with box_iou's float32 arithmetic:
 * inter = clamp(min(x2) - max(x1), 0) · clamp(min(y2) - max(y1), 0),
 * iou = inter / (area_gt + area_anchor - inter). */
static void assign_row(const float *a, const assign_soa *g, float *row)
{
    float ax1 = a[0], ay1 = a[1], ax2 = a[2], ay2 = a[3];
    float area_a = (ax2 - ax1) * (ay2 - ay1);
    for (int k = 0; k < g->n; k++) {
        float lx = g->x1[k] > ax1 ? g->x1[k] : ax1;
        float ly = g->y1[k] > ay1 ? g->y1[k] : ay1;
        float rx = g->x2[k] < ax2 ? g->x2[k] : ax2;
        float ry = g->y2[k] < ay2 ? g->y2[k] : ay2;
        float w = rx - lx, h = ry - ly;
        w = w > 0.0f ? w : 0.0f;
        h = h > 0.0f ? h : 0.0f;
        float inter = w * h;
        row[k] = inter / (g->area[k] + area_a - inter);
    }
}

/* The maximum of row[0..n-1] (IoUs ≥ 0): eight lanes the compiler turns into vector maxima. */
static float assign_max(const float *row, int n)
{
    float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int k = 0;
    for (; k + 8 <= n; k += 8)
        for (int j = 0; j < 8; j++)
            lane[j] = row[k + j] > lane[j] ? row[k + j] : lane[j];
    float m = 0.0f;
    for (int j = 0; j < 8; j++)
        m = lane[j] > m ? lane[j] : m;
    for (; k < n; k++)
        m = row[k] > m ? row[k] : m;
    return m;
}

/* The first k with row[k] == m (torch.max(dim=0)'s index on the CPU); 0 if none (a row of
 * NaNs from degenerate boxes). */
static int assign_first(const float *row, int n, float m)
{
    for (int k = 0; k < n; k++)
        if (row[k] == m)
            return k;
    return 0;
}

/* Row pass: thresholds per anchor, its maximum into best[a], column maxima into gt_best. */
static int64_t assign_threshold(const detector_preset *p, const float *anchors, int64_t A,
                                const assign_soa *g, float *row, float *gt_best,
                                int32_t *match, float *best)
{
    int64_t npos = 0;
    for (int k = 0; k < g->n; k++)
        gt_best[k] = 0.0f;
    for (int64_t a = 0; a < A; a++) {
        assign_row(anchors + 4 * a, g, row);
        for (int k = 0; k < g->n; k++)
            gt_best[k] = row[k] > gt_best[k] ? row[k] : gt_best[k];
        float m = assign_max(row, g->n);
        best[a] = m;
        if (m >= p->fg_iou) {
            match[a] = g->index[assign_first(row, g->n, m)];
            npos++;
        } else {
            match[a] = m < p->bg_iou ? ASSIGN_NEGATIVE : ASSIGN_IGNORED;
        }
    }
    return npos;
}

/* Second pass: anchors that are some gt's best (ties included) become positive, matched to
 * their own best gt. Only anchors whose maximum reaches the smallest gt maximum can be, so
 * only their rows are computed again. The paper rule leaves out gts whose best is 0. */
static int64_t assign_force_best(const detector_preset *p, const float *anchors, int64_t A,
                                 const assign_soa *g, float *row, float *gt_best,
                                 const float *best, int32_t *match)
{
    float lowest = 2.0f;
    for (int k = 0; k < g->n; k++) {
        if (p->match_rule == PRESET_MATCH_PAPER && gt_best[k] <= 0.0f)
            gt_best[k] = 2.0f;  // no IoU equals it: this gt forces nothing
        lowest = gt_best[k] < lowest ? gt_best[k] : lowest;
    }
    int64_t forced = 0;
    for (int64_t a = 0; a < A; a++) {
        if (match[a] >= 0 || best[a] < lowest)
            continue;
        assign_row(anchors + 4 * a, g, row);
        int hit = 0;
        for (int k = 0; k < g->n; k++)
            hit |= row[k] == gt_best[k];
        if (hit) {
            match[a] = g->index[assign_first(row, g->n, best[a])];
            forced++;
        }
    }
    return forced;
}

/* Last pass: anchors that are not positive and lie mostly inside a crowd box are ignored. */
static void assign_crowd(const detector_preset *p, const float *anchors, int64_t A,
                         const assign_soa *c, int32_t *match)
{
    for (int64_t a = 0; a < A; a++) {
        if (match[a] >= 0)
            continue;
        const float *b = anchors + 4 * a;
        float area_a = (b[2] - b[0]) * (b[3] - b[1]);
        for (int k = 0; k < c->n; k++) {
            float w = (c->x2[k] < b[2] ? c->x2[k] : b[2]) - (c->x1[k] > b[0] ? c->x1[k] : b[0]);
            float h = (c->y2[k] < b[3] ? c->y2[k] : b[3]) - (c->y1[k] > b[1] ? c->y1[k] : b[1]);
            if (w > 0.0f && h > 0.0f && w * h > p->crowd_ioa * area_a) {
                match[a] = ASSIGN_IGNORED;
                break;
            }
        }
    }
}

int64_t assign_anchors(const detector_preset *p, const float *anchors, int64_t A,
                       const assign_gt *gt, rd_arena *ws, int32_t *match, float *iou)
{
    RD_CHECK(gt->count >= 0 && A >= 0, "negative counts (%d ground truth, %lld anchors)",
             gt->count, (long long)A);
    size_t n = (size_t)gt->count;
    size_t soa = 5 * rd_arena_align(n * sizeof(float)) + rd_arena_align(n * sizeof(int32_t));
    size_t best_bytes = iou ? 0 : (size_t)A * sizeof(float);
    rd_arena_reserve(ws, 2 * soa + 2 * rd_arena_align(n * sizeof(float)) +
                             rd_arena_align(best_bytes));
    assign_soa g, c;
    assign_soa_push(ws, &g, gt->count);
    assign_soa_push(ws, &c, gt->count);
    float *row = rd_arena_push(ws, n * sizeof(float));      // [G] one anchor's IoUs
    float *gt_best = rd_arena_push(ws, n * sizeof(float));  // [G] each gt's best IoU
    float *best = iou ? iou : rd_arena_push(ws, best_bytes);  // [A] each anchor's best IoU
    for (int k = 0; k < gt->count; k++)
        assign_soa_add(gt->crowd && gt->crowd[k] ? &c : &g, &gt->boxes[k], k);

    int64_t npos = 0;
    if (g.n == 0) {
        for (int64_t a = 0; a < A; a++)
            match[a] = ASSIGN_NEGATIVE;
        if (iou)
            memset(iou, 0, (size_t)A * sizeof(float));
    } else {
        npos = assign_threshold(p, anchors, A, &g, row, gt_best, match, best);
        npos += assign_force_best(p, anchors, A, &g, row, gt_best, best, match);
    }
    if (c.n > 0)
        assign_crowd(p, anchors, A, &c, match);
    return npos;
}

void assign_labels(const int32_t *match, const float *iou, int64_t A, const assign_gt *gt,
                   int K, int8_t *labels, float *iou_side)
{
    RD_CHECK(iou_side == NULL || iou != NULL, "iou_side needs the iou of assign_anchors");
    for (int64_t a = 0; a < A; a++) {
        int8_t *t = labels + a * K;
        int32_t m = match[a];
        memset(t, m == ASSIGN_IGNORED ? -1 : 0, (size_t)K);
        if (iou_side)
            memset(iou_side + a * K, 0, (size_t)K * sizeof(float));
        if (m < 0)
            continue;
        RD_CHECK(m < gt->count, "match %d of anchor %lld is not a ground truth index (%d)", m,
                 (long long)a, gt->count);
        int32_t k = gt->labels[m];
        RD_CHECK(k >= 0 && k < K, "ground truth %d has class %d outside [0, %d)", m, k, K);
        t[k] = 1;
        if (iou_side)
            iou_side[a * K + k] = iou[a];
    }
}

void assign_iou_matrix(const float *anchors, int64_t A, const rd_box *boxes, int G, float *out)
{
    for (int64_t a = 0; a < A; a++) {
        const float *b = anchors + 4 * a;
        for (int k = 0; k < G; k++) {
            const rd_box *g = &boxes[k];
            float w = (g->x2 < b[2] ? g->x2 : b[2]) - (g->x1 > b[0] ? g->x1 : b[0]);
            float h = (g->y2 < b[3] ? g->y2 : b[3]) - (g->y1 > b[1] ? g->y1 : b[1]);
            w = w > 0.0f ? w : 0.0f;
            h = h > 0.0f ? h : 0.0f;
            float inter = w * h;
            float area_g = (g->x2 - g->x1) * (g->y2 - g->y1);
            float area_a = (b[2] - b[0]) * (b[3] - b[1]);
            out[a * G + k] = inter / (area_g + area_a - inter);
        }
    }
}
