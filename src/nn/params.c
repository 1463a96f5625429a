/* Parameter files of nde/nn.h: named blocks "NAME ROWS COLS" of numbers, '#' comments.
 * Reading is two passes over the file, the first only validating, so that a failure
 * leaves the destination untouched without a staging copy. */
#include "nn/internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest token read; a number with 17 significant digits takes 24. */
#define TOKEN_MAX 128

/* The next whitespace-separated token of f into buf, skipping '#' comments to the end of
 * their line. 1, 0 at the end of the file, -1 for a token too long. */
static int next_token(FILE *f, char *buf)
{
    int c;
    for (;;) {
        c = getc(f);
        if (c == EOF) return 0;
        if (c == '#') {
            while ((c = getc(f)) != EOF && c != '\n') {}
            continue;
        }
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
    }
    size_t n = 0;
    while (c != EOF && c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '#') {
        if (n + 1 >= TOKEN_MAX) return -1;
        buf[n++] = (char)c;
        c = getc(f);
    }
    if (c == '#') ungetc(c, f);
    buf[n] = '\0';
    return 1;
}

static int parse_size(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-') return -1;
    *out = (size_t)v;
    return 0;
}

static int parse_number(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

typedef struct want {
    const char *name;
    size_t rows, cols;
    double *dst;            /* NULL: validate only */
    int found;
} want;

/* One pass over the file: fills (or checks) every wanted block. */
static int scan(const char *path, want *w, size_t nw, char *err, size_t esz)
{
    FILE *f = fopen(path, "r");
    if (!f) return nde__msg(err, esz, NDE_EINVAL, "cannot open '%s': %s", path, strerror(errno));
    char tok[TOKEN_MAX], name[TOKEN_MAX];
    int rc = NDE_OK, r;
    for (size_t i = 0; i < nw; i++) w[i].found = 0;
    while ((r = next_token(f, name)) == 1) {
        size_t rows, cols, total;
        if (next_token(f, tok) != 1 || parse_size(tok, &rows) || next_token(f, tok) != 1 ||
            parse_size(tok, &cols) || nde__size_mul(rows, cols, &total)) {
            rc = nde__msg(err, esz, NDE_EINVAL, "%s: block '%.40s' lacks a valid 'ROWS COLS' after its name", path, name);
            break;
        }
        want *hit = NULL;
        for (size_t i = 0; i < nw; i++)
            if (!w[i].found && strcmp(w[i].name, name) == 0) { hit = &w[i]; break; }
        if (hit && (hit->rows != rows || hit->cols != cols)) {
            rc = nde__msg(err, esz, NDE_EINVAL, "%s: block '%s' is %zu x %zu, expected %zu x %zu", path, name, rows,
                          cols, hit->rows, hit->cols);
            break;
        }
        for (size_t k = 0; k < total && rc == NDE_OK; k++) {
            double v;
            if (next_token(f, tok) != 1 || parse_number(tok, &v))
                rc = nde__msg(err, esz, NDE_EINVAL, "%s: block '%s': entry %zu of %zu is missing or not a finite number",
                              path, name, k + 1, total);
            else if (hit && hit->dst)
                hit->dst[k] = v;
        }
        if (rc != NDE_OK) break;
        if (hit) hit->found = 1;
    }
    if (rc == NDE_OK && r < 0) rc = nde__msg(err, esz, NDE_EINVAL, "%s: a token longer than %d characters", path, TOKEN_MAX - 1);
    fclose(f);
    for (size_t i = 0; rc == NDE_OK && i < nw; i++)
        if (!w[i].found) rc = nde__msg(err, esz, NDE_EINVAL, "%s: no block '%s' (%zu x %zu)", path, w[i].name, w[i].rows, w[i].cols);
    return rc;
}

/* Validate, then fill: dst is only written when the whole read succeeds. */
static int read_blocks(const char *path, want *w, size_t nw, char *err, size_t esz)
{
    double *dst[8];
    for (size_t i = 0; i < nw; i++) { dst[i] = w[i].dst; w[i].dst = NULL; }
    int rc = scan(path, w, nw, err, esz);
    for (size_t i = 0; i < nw; i++) w[i].dst = dst[i];
    return rc == NDE_OK ? scan(path, w, nw, err, esz) : rc;
}

int nde_block_read(const char *path, const char *name, size_t rows, size_t cols, double *dst, char *errbuf,
                   size_t errbuf_size)
{
    if (errbuf && errbuf_size) errbuf[0] = '\0';
    if (!path || !name || !dst) return nde__msg(errbuf, errbuf_size, NDE_EINVAL, "path, name and dst must not be NULL");
    want w = { name, rows, cols, dst, 0 };
    return read_blocks(path, &w, 1, errbuf, errbuf_size);
}

/* A layer's blocks: W, b, and a norm's g and c. */
static size_t layer_blocks(const nde_mlp *m, size_t l, double *theta, want *w, char (*names)[24])
{
    size_t wi = m->w[l - 1], wo = m->w[l], k = 0;
    snprintf(names[0], 24, "W%zu", l);
    w[k++] = (want){ names[0], wo, wi, nde__nn_W(m, theta, l), 0 };
    snprintf(names[1], 24, "b%zu", l);
    w[k++] = (want){ names[1], 1, wo, nde__nn_b(m, theta, l), 0 };
    if (nde__nn_has_norm(m, l)) {
        snprintf(names[2], 24, "g%zu", l);
        w[k++] = (want){ names[2], 1, wo, nde__nn_g(m, theta, l), 0 };
        if (m->norm == NDE_NORM_LAYER) {
            snprintf(names[3], 24, "c%zu", l);
            w[k++] = (want){ names[3], 1, wo, nde__nn_g(m, theta, l) + wo, 0 };
        }
    }
    return k;
}

int nde_mlp_load(nde_mlp *m, const char *path, char *errbuf, size_t errbuf_size)
{
    if (errbuf && errbuf_size) errbuf[0] = '\0';
    if (!m || !path) return nde__msg(errbuf, errbuf_size, NDE_EINVAL, "mlp and path must not be NULL");
    /* validate every layer's blocks first, then read them all */
    for (int pass = 0; pass < 2; pass++)
        for (size_t l = 1; l <= m->n_layers; l++) {
            want w[4];
            char names[4][24];
            size_t k = layer_blocks(m, l, m->theta, w, names);
            if (pass == 0)
                for (size_t i = 0; i < k; i++) w[i].dst = NULL;
            int rc = scan(path, w, k, errbuf, errbuf_size);
            if (rc != NDE_OK) return rc;
        }
    return NDE_OK;
}

int nde_mlp_save(const nde_mlp *m, const char *path, char *errbuf, size_t errbuf_size)
{
    if (errbuf && errbuf_size) errbuf[0] = '\0';
    if (!m || !path) return nde__msg(errbuf, errbuf_size, NDE_EINVAL, "mlp and path must not be NULL");
    /* written to "<path>.tmp" and renamed over path once complete: a failed save leaves
     * an existing parameter file as it was */
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return nde__msg(errbuf, errbuf_size, NDE_EINVAL, "path is too long (%zu characters)", strlen(path));
    FILE *f = fopen(tmp, "w");
    if (!f) return nde__msg(errbuf, errbuf_size, NDE_EINVAL, "cannot write '%s': %s", tmp, strerror(errno));
    fprintf(f, "# nde MLP parameters (nde/nn.h): widths");
    for (size_t l = 0; l <= m->n_layers; l++) fprintf(f, " %zu", m->w[l]);
    fprintf(f, ", activation %s, output %s, norm %s\n", nde_activation_name(m->act), nde_activation_name(m->out_act),
            m->norm == NDE_NORM_RMS ? "rms" : m->norm == NDE_NORM_LAYER ? "layer" : "none");
    for (size_t l = 1; l <= m->n_layers; l++) {
        want w[4];
        char names[4][24];
        size_t k = layer_blocks(m, l, m->theta, w, names);
        for (size_t i = 0; i < k; i++) {
            fprintf(f, "%s %zu %zu\n", w[i].name, w[i].rows, w[i].cols);
            for (size_t r = 0; r < w[i].rows; r++)
                for (size_t c = 0; c < w[i].cols; c++)
                    fprintf(f, "%.17g%c", w[i].dst[r * w[i].cols + c], c + 1 == w[i].cols ? '\n' : ' ');
        }
    }
    int bad = ferror(f);
    if (fclose(f) != 0) bad = 1;
    if (!bad && rename(tmp, path) != 0) {
        int e = errno;
        remove(tmp);
        return nde__msg(errbuf, errbuf_size, NDE_EINVAL, "cannot replace '%s': %s", path, strerror(e));
    }
    if (bad) {
        remove(tmp);
        return nde__msg(errbuf, errbuf_size, NDE_EINVAL, "writing '%s' failed", tmp);
    }
    return NDE_OK;
}
