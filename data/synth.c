/* synth.c — rendering one image of the synthetic shapes set (synth.h): a background (gradient,
 * stripes or clutter), then objects placed one by one on top of each other under the
 * visibility and overlap limits, each a filled shape mask (data/draw.h) painted in a colour
 * far from the background under it with a soft shading, then Gaussian pixel noise. */
#include "data/synth.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/draw.h"
#include "lib/check.h"
#include "lib/rng.h"

#define SYNTH_MIN_SIDE 0.12     // object size range, in units of S
#define SYNTH_MAX_SIDE 0.45
#define SYNTH_MIN_VISIBLE 0.6   // share of an object's pixels that must stay visible
#define SYNTH_MAX_IOU 0.45      // box overlap allowed between two objects
#define SYNTH_MIN_CONTRAST 90.0 // RGB distance between an object and the background under it
#define SYNTH_PLACE_TRIES 60

static const char *const synth_names[SYNTH_MAX_CLASSES] = {"circle", "square", "triangle",
                                                           "plus",   "star",   "ring"};

const char *synth_class_name(int k)
{
    RD_CHECK(k >= 0 && k < SYNTH_MAX_CLASSES, "synth class %d out of range", k);
    return synth_names[k];
}

void synth_config_defaults(synth_config *cfg)
{
    *cfg = (synth_config){.images = 2000, .classes = 4, .size = 128, .seed = 1,
                          .test_frac = 0.2, .quality = 90, .min_objects = 1,
                          .max_objects = 5};
}

const char *synth_config_problem(const synth_config *c)
{
    if (c->images < 1 || c->images > 10000000)
        return "--images must be in 1..10000000";
    if (c->classes < 1 || c->classes > SYNTH_MAX_CLASSES)
        return "--classes must be in 1..6 (circle, square, triangle, plus, star, ring)";
    if (c->size < 32 || c->size > 2048)
        return "--size must be in 32..2048 pixels";
    if (!(c->test_frac >= 0.0 && c->test_frac < 1.0))
        return "--test-frac must be in [0, 1)";
    if (c->quality < 1 || c->quality > 100)
        return "--quality must be in 1..100";
    if (c->min_objects < 1 || c->max_objects > SYNTH_MAX_OBJECTS || c->min_objects > c->max_objects)
        return "--min-objects and --max-objects must satisfy 1 <= min <= max <= 20";
    return NULL;
}

/* ---- colours and backgrounds ---- */

static double synth_uniform(rd_rng *r, double a, double b)
{
    return a + (b - a) * rd_rng_uniform(r);
}

/* A colour from HSV with the given saturation and value ranges. */
static draw_color synth_color(rd_rng *r, double s_lo, double v_lo)
{
    double h = synth_uniform(r, 0, 6), s = synth_uniform(r, s_lo, 1), v = synth_uniform(r, v_lo, 1);
    int i = (int)h % 6;
    double f = h - floor(h), p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
    const double rgb[6][3] = {{v, t, p}, {q, v, p}, {p, v, t}, {p, q, v}, {t, p, v}, {v, p, q}};
    return (draw_color){(uint8_t)lrint(255 * rgb[i][0]), (uint8_t)lrint(255 * rgb[i][1]),
                        (uint8_t)lrint(255 * rgb[i][2])};
}

/* A linear gradient between two colours along a random direction. */
static void synth_gradient(rd_image *img, rd_rng *r)
{
    draw_color a = synth_color(r, 0.0, 0.15), b = synth_color(r, 0.0, 0.15);
    double th = synth_uniform(r, 0, 2 * M_PI), cs = cos(th), sn = sin(th), S = img->width;
    for (int y = 0; y < img->height; y++)
        for (int x = 0; x < img->width; x++) {
            double t = ((x - S / 2) * cs + (y - S / 2) * sn) / S + 0.5;
            t = t < 0 ? 0 : (t > 1 ? 1 : t);
            uint8_t *p = img->rgb + 3 * ((size_t)y * img->width + x);
            p[0] = (uint8_t)lrint(a.r + t * (b.r - a.r));
            p[1] = (uint8_t)lrint(a.g + t * (b.g - a.g));
            p[2] = (uint8_t)lrint(a.b + t * (b.b - a.b));
        }
}

/* Stripes of a random period and angle blended over the gradient. */
static void synth_stripes(rd_image *img, rd_rng *r)
{
    draw_color c = synth_color(r, 0.0, 0.2);
    double period = synth_uniform(r, 5, 18), th = synth_uniform(r, 0, M_PI);
    double cs = cos(th), sn = sin(th), alpha = synth_uniform(r, 0.2, 0.5);
    int checker = rd_rng_below(r, 3) == 0;
    const uint8_t cc[3] = {c.r, c.g, c.b};
    for (int y = 0; y < img->height; y++)
        for (int x = 0; x < img->width; x++) {
            double u = (x * cs + y * sn) / period, v = (-x * sn + y * cs) / period;
            int on = ((long)floor(u) & 1) ^ (checker ? ((long)floor(v) & 1) : 0);
            if (!on)
                continue;
            uint8_t *p = img->rgb + 3 * ((size_t)y * img->width + x);
            for (int k = 0; k < 3; k++)
                p[k] = (uint8_t)lrint((1 - alpha) * p[k] + alpha * cc[k]);
        }
}

/* Random lines and dots: clutter that is none of the classes. */
static void synth_clutter(rd_image *img, rd_rng *r)
{
    double S = img->width;
    int lines = 8 + (int)rd_rng_below(r, 18), dots = (int)rd_rng_below(r, 12);
    for (int i = 0; i < lines; i++) {
        float x0 = (float)synth_uniform(r, 0, S), y0 = (float)synth_uniform(r, 0, S);
        float len = (float)synth_uniform(r, 0.1 * S, 0.6 * S);
        float th = (float)synth_uniform(r, 0, 2 * M_PI);
        draw_line(img, x0, y0, x0 + len * cosf(th), y0 + len * sinf(th),
                  (float)synth_uniform(r, 1, 2.5), synth_color(r, 0.0, 0.2));
    }
    for (int i = 0; i < dots; i++) {
        float x = (float)synth_uniform(r, 0, S), y = (float)synth_uniform(r, 0, S);
        float rad = (float)synth_uniform(r, 1, 0.02 * S + 1);
        draw_ellipse_fill(img, (rd_box){x - rad, y - rad, x + rad, y + rad},
                          synth_color(r, 0, 0.2));
    }
}

static void synth_background(rd_image *img, rd_rng *r)
{
    synth_gradient(img, r);
    int kind = (int)rd_rng_below(r, 3);
    if (kind == 1)
        synth_stripes(img, r);
    else if (kind == 2)
        synth_clutter(img, r);
}

/* ---- shapes ---- */

/* n points of a regular star or polygon: radius alternating outer / inner (inner = outer for a
 * polygon), starting at angle th. */
static void synth_star_points(draw_shape *s, int n, double cx, double cy, double outer,
                              double inner, double th, double sx, double sy)
{
    s->kind = DRAW_SHAPE_POLYGON;
    s->npoints = n;
    for (int i = 0; i < n; i++) {
        double a = th + 2 * M_PI * i / n, rad = i % 2 ? inner : outer;
        s->xy[2 * i] = (float)(cx + sx * rad * cos(a));
        s->xy[2 * i + 1] = (float)(cy + sy * rad * sin(a));
    }
}

/* The plus sign: 12 corners of two crossed bars, rotated by th. */
static void synth_plus_points(draw_shape *s, double cx, double cy, double arm, double half,
                              double th)
{
    const double u[12] = {-half, half, half, arm, arm, half, half, -half, -half, -arm, -arm, -half};
    const double v[12] = {-arm, -arm, -half, -half, half, half, arm, arm, half, half, -half, -half};
    s->kind = DRAW_SHAPE_POLYGON;
    s->npoints = 12;
    for (int i = 0; i < 12; i++) {
        s->xy[2 * i] = (float)(cx + u[i] * cos(th) - v[i] * sin(th));
        s->xy[2 * i + 1] = (float)(cy + u[i] * sin(th) + v[i] * cos(th));
    }
}

/* The mask of one object of class k and size `side` centred at (cx, cy). */
static void synth_shape_mask(int k, double side, double cx, double cy, rd_rng *r,
                             uint8_t *mask, int S)
{
    draw_shape s;
    memset(&s, 0, sizeof s);
    double th = synth_uniform(r, 0, 2 * M_PI), a = sqrt(synth_uniform(r, 0.75, 1.33));
    double hw = 0.5 * side * a, hh = 0.5 * side / a;
    switch (k) {
    case 0:  // circle (a mild ellipse)
    case 5:  // ring: the same with a hole
        s.kind = DRAW_SHAPE_ELLIPSE;
        s.box = (rd_box){(float)(cx - hw), (float)(cy - hh), (float)(cx + hw), (float)(cy + hh)};
        break;
    case 1:  // square, rotated (side 0.75 of the size so the rotated extent stays near it)
        synth_star_points(&s, 4, cx, cy, 0.53 * side, 0.53 * side, th, 1, 1);
        break;
    case 2:  // triangle, equilateral, rotated
        synth_star_points(&s, 3, cx, cy, 0.58 * side, 0.58 * side, th, 1, 1);
        break;
    case 3:
        synth_plus_points(&s, cx, cy, 0.5 * side, 0.5 * side * synth_uniform(r, 0.24, 0.34), th);
        break;
    default:  // 4: five-pointed star
        synth_star_points(&s, 10, cx, cy, 0.55 * side, 0.55 * side * synth_uniform(r, 0.4, 0.5),
                          th, 1, 1);
        break;
    }
    draw_shape_mask(mask, S, S, &s, 1);
    if (k == 5) {  // the hole
        double f = synth_uniform(r, 0.45, 0.6);
        draw_shape hole = {.kind = DRAW_SHAPE_ELLIPSE,
                           .box = {(float)(cx - f * hw), (float)(cy - f * hh), (float)(cx + f * hw),
                                   (float)(cy + f * hh)}};
        draw_shape_mask(mask, S, S, &hole, 0);
    }
}

/* ---- placement ---- */

typedef struct synth_canvas {
    rd_image *img;
    int S;
    uint8_t *mask;     // [S][S] the object being placed
    int16_t *owner;    // [S][S] the object visible at each pixel, -1: background
    synth_object *objects;
    int n;
    int area[SYNTH_MAX_OBJECTS];     // each object's pixels
    int visible[SYNTH_MAX_OBJECTS];  // of which still visible
} synth_canvas;

/* The mask's tight box and pixel count (0 when empty). */
static int synth_mask_extent(const synth_canvas *c, rd_box *box)
{
    int x1 = c->S, y1 = c->S, x2 = -1, y2 = -1, n = 0;
    for (int y = 0; y < c->S; y++)
        for (int x = 0; x < c->S; x++)
            if (c->mask[y * c->S + x]) {
                n++;
                x1 = x < x1 ? x : x1, x2 = x > x2 ? x : x2;
                y1 = y < y1 ? y : y1, y2 = y > y2 ? y : y2;
            }
    *box = (rd_box){(float)x1, (float)y1, (float)x2 + 1, (float)y2 + 1};
    return n;
}

/* Whether the masked object may go on top: boxes overlap little, every object underneath keeps
 * enough of itself visible. */
static int synth_fits(const synth_canvas *c, rd_box box)
{
    int lost[SYNTH_MAX_OBJECTS] = {0};
    for (int j = 0; j < c->n; j++)
        if (box_iou(box, c->objects[j].box) > SYNTH_MAX_IOU)
            return 0;
    for (int y = (int)box.y1; y < (int)box.y2; y++)
        for (int x = (int)box.x1; x < (int)box.x2; x++) {
            int o = c->owner[y * c->S + x];
            if (c->mask[y * c->S + x] && o >= 0)
                lost[o]++;
        }
    for (int j = 0; j < c->n; j++)
        if (c->visible[j] - lost[j] < SYNTH_MIN_VISIBLE * c->area[j])
            return 0;
    return 1;
}

/* A colour far from the mean of the pixels under box (the best of a few draws). */
static draw_color synth_object_color(const synth_canvas *c, rd_box box, rd_rng *r)
{
    double mean[3] = {0, 0, 0}, n = 0;
    for (int y = (int)box.y1; y < (int)box.y2; y++)
        for (int x = (int)box.x1; x < (int)box.x2; x++, n++)
            for (int k = 0; k < 3; k++)
                mean[k] += c->img->rgb[3 * ((size_t)y * c->S + x) + k];
    draw_color best = {0, 0, 0};
    double best_d = -1;
    for (int t = 0; t < 20 && best_d < SYNTH_MIN_CONTRAST; t++) {
        draw_color col = synth_color(r, 0.35, 0.3);
        double dr = col.r - mean[0] / n, dg = col.g - mean[1] / n, db = col.b - mean[2] / n;
        double d = sqrt(dr * dr + dg * dg + db * db);
        if (d > best_d)
            best_d = d, best = col;
    }
    return best;
}

/* Paint the masked object with a soft linear shading and make it the owner of its pixels. */
static void synth_paint(synth_canvas *c, rd_box box, draw_color col, rd_rng *r)
{
    double th = synth_uniform(r, 0, 2 * M_PI), g = synth_uniform(r, 0, 0.35);
    double cx = 0.5 * (box.x1 + box.x2), cy = 0.5 * (box.y1 + box.y2);
    double side = fmax(box.x2 - box.x1, box.y2 - box.y1);
    const double base[3] = {col.r, col.g, col.b};
    int id = c->n;
    for (int y = (int)box.y1; y < (int)box.y2; y++)
        for (int x = (int)box.x1; x < (int)box.x2; x++) {
            size_t i = (size_t)y * c->S + x;
            if (!c->mask[i])
                continue;
            double shade = 1 + g * ((x - cx) * cos(th) + (y - cy) * sin(th)) / side;
            for (int k = 0; k < 3; k++) {
                double v = base[k] * shade;
                c->img->rgb[3 * i + k] = (uint8_t)lrint(v < 0 ? 0 : (v > 255 ? 255 : v));
            }
            if (c->owner[i] >= 0)
                c->visible[c->owner[i]]--;
            c->owner[i] = (int16_t)id;
        }
}

/* Try to place one more object; 1 when placed. */
static int synth_place(synth_canvas *c, const synth_config *cfg, rd_rng *r)
{
    double S = c->S;
    for (int t = 0; t < SYNTH_PLACE_TRIES; t++) {
        int k = (int)rd_rng_below(r, (uint64_t)cfg->classes);
        double side = S * exp(synth_uniform(r, log(SYNTH_MIN_SIDE), log(SYNTH_MAX_SIDE)));
        double m = 0.62 * side + 1;
        double cx = synth_uniform(r, m, S - m), cy = synth_uniform(r, m, S - m);
        memset(c->mask, 0, (size_t)c->S * c->S);
        synth_shape_mask(k, side, cx, cy, r, c->mask, c->S);
        rd_box box;
        int pixels = synth_mask_extent(c, &box);
        if (pixels < 16 || !synth_fits(c, box))
            continue;
        draw_color col = synth_object_color(c, box, r);
        synth_paint(c, box, col, r);
        c->objects[c->n] = (synth_object){box, k};
        c->area[c->n] = c->visible[c->n] = pixels;
        c->n++;
        return 1;
    }
    return 0;
}

static void synth_noise(rd_image *img, rd_rng *r)
{
    double sigma = synth_uniform(r, 2, 8);
    for (size_t i = 0; i < (size_t)img->width * img->height * 3; i++) {
        double v = img->rgb[i] + rd_rng_gaussian(r, sigma);
        img->rgb[i] = (uint8_t)lrint(v < 0 ? 0 : (v > 255 ? 255 : v));
    }
}

/* The 32 bits mt19937 takes, from (seed, index) through splitmix64's finaliser. */
static uint64_t synth_image_seed(uint64_t seed, int64_t index)
{
    uint64_t h = seed;
    for (int round = 0; round < 2; round++) {
        h += 0x9e3779b97f4a7c15ull + (round ? (uint64_t)index : 0);
        h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
        h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
        h ^= h >> 31;
    }
    return (h ^ (h >> 32)) & 0xffffffffull;
}

int synth_render(const synth_config *cfg, int64_t index, rd_image *img, synth_object *objects)
{
    RD_CHECK(synth_config_problem(cfg) == NULL, "synth config: %s", synth_config_problem(cfg));
    int S = cfg->size;
    rd_rng r;
    rd_rng_init(&r, synth_image_seed(cfg->seed, index));
    image_alloc(img, S, S);
    synth_canvas c = {.img = img, .S = S, .objects = objects};
    c.mask = rd_malloc((size_t)S * S, "synth mask");
    c.owner = rd_malloc(sizeof(int16_t) * (size_t)S * S, "synth owners");
    for (size_t i = 0; i < (size_t)S * S; i++)
        c.owner[i] = -1;
    synth_background(img, &r);
    int want = cfg->min_objects +
               (int)rd_rng_below(&r, (uint64_t)(cfg->max_objects - cfg->min_objects + 1));
    while (c.n < want && synth_place(&c, cfg, &r))
        continue;
    synth_noise(img, &r);
    free(c.mask);
    free(c.owner);
    rd_rng_free(&r);
    return c.n;
}
