/* The native fast path of the reader: CloudTrail JSON text -> Arrow column buffers, with no Python object per value.
 *
 * A Scanner takes the decompressed text of one file at a time. When the file is one of the common containers
 * (``{"Records": [...]}`` or a bare array of records) and every record fits the types of trailtools/events/records.py
 * (strings or null where a string is expected, booleans where a boolean is, objects for userIdentity & co., every
 * record with an eventTime string), its records are appended to the columns and add() returns how many there
 * were. Anything else -- invalid JSON or UTF-8, a control character inside a string, a field of another type, a
 * record without eventTime, an escaped or repeated key, a record nested deeper or larger than the Scanner's limits
 * (max_depth levels, the record being level 1, at most MAX_DEPTH; max_record bytes of text), a column over 2 GB --
 * returns -1 with nothing appended, and the caller takes the Python path (msgspec, then the lenient reader), which
 * says what is wrong. The native path only ever accepts documents that msgspec's typed decoder also accepts, and
 * then gives the same values, so the frame does not depend on which path read a file
 * (tests/test_native_scan.py compares both on real, generated and mutated input).
 *
 * Per row it also computes what the Python reader derives from the record text: the eventTime as microseconds
 * (only for the exact form YYYY-MM-DDTHH:MM:SSZ with a valid date; anything else is left null for the caller's
 * lenient parser) and the EC2 instance IDs in requestParameters, responseElements, resources and
 * serviceEventDetails, with the rules of trailtools/events/derive.py's instance_ids.
 *
 * add() releases the GIL while it scans; a Scanner is not safe to share between threads (each chunk of files has
 * its own, in trailtools/events/table.py's Builder).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define MAX_DEPTH 256
#define MAX_COLS 64

/* ------------------------------------------------------------------------------------------------ buffers */

typedef struct {
    char *data;
    Py_ssize_t len, cap;
} Buf;

static int buf_reserve(Buf *b, Py_ssize_t extra) {
    if (b->len + extra <= b->cap) return 0;
    Py_ssize_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra) cap *= 2;
    char *p = PyMem_RawRealloc(b->data, (size_t)cap);
    if (!p) return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

static inline int buf_put(Buf *b, const void *src, Py_ssize_t n) {
    if (buf_reserve(b, n) < 0) return -1;
    memcpy(b->data + b->len, src, (size_t)n);
    b->len += n;
    return 0;
}

static void buf_free(Buf *b) {
    PyMem_RawFree(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* ------------------------------------------------------------------------------------------------ the schema */

enum { K_STR, K_BOOL, K_RAW, K_OBJ };

typedef struct Obj Obj;
typedef struct {
    const char *name;
    int kind;
    const Obj *nested;   /* K_OBJ */
    Py_ssize_t len;      /* strlen(name), set when the module loads */
} FieldDef;

struct Obj {
    const char *path;    /* dotted prefix of the object's fields ("" for the record) */
    int nfields;
    FieldDef *fields;
};

/* Mirrors the msgspec Structs of trailtools/events/records.py: every field is type-checked as msgspec would; the
 * fields named in the Scanner's column list are copied out. */
static FieldDef ISSUER_F[] = {
    {"type", K_STR, NULL}, {"principalId", K_STR, NULL}, {"arn", K_STR, NULL}, {"accountId", K_STR, NULL},
    {"userName", K_STR, NULL},
};
static const Obj ISSUER = {"userIdentity.sessionContext.sessionIssuer.", 5, ISSUER_F};
static FieldDef ATTR_F[] = {{"mfaAuthenticated", K_STR, NULL}, {"creationDate", K_STR, NULL}};
static const Obj ATTR = {"userIdentity.sessionContext.attributes.", 2, ATTR_F};
static FieldDef CONTEXT_F[] = {
    {"sessionIssuer", K_OBJ, &ISSUER}, {"attributes", K_OBJ, &ATTR}, {"sourceIdentity", K_STR, NULL},
};
static const Obj CONTEXT = {"userIdentity.sessionContext.", 3, CONTEXT_F};
static FieldDef IDENTITY_F[] = {
    {"type", K_STR, NULL}, {"principalId", K_STR, NULL}, {"arn", K_STR, NULL}, {"accountId", K_STR, NULL},
    {"accessKeyId", K_STR, NULL}, {"userName", K_STR, NULL}, {"invokedBy", K_STR, NULL},
    {"sessionContext", K_OBJ, &CONTEXT},
};
static const Obj IDENTITY = {"userIdentity.", 8, IDENTITY_F};
static FieldDef TLS_F[] = {{"tlsVersion", K_STR, NULL}, {"clientProvidedHostHeader", K_STR, NULL}};
static const Obj TLS = {"tlsDetails.", 2, TLS_F};
static FieldDef RECORD_F[] = {
    {"eventTime", K_STR, NULL}, {"eventVersion", K_STR, NULL}, {"userIdentity", K_OBJ, &IDENTITY},
    {"eventSource", K_STR, NULL}, {"eventName", K_STR, NULL}, {"awsRegion", K_STR, NULL},
    {"sourceIPAddress", K_STR, NULL}, {"userAgent", K_STR, NULL}, {"errorCode", K_STR, NULL},
    {"errorMessage", K_STR, NULL}, {"requestParameters", K_RAW, NULL}, {"responseElements", K_RAW, NULL},
    {"additionalEventData", K_RAW, NULL}, {"resources", K_RAW, NULL}, {"serviceEventDetails", K_RAW, NULL},
    {"requestID", K_STR, NULL}, {"eventID", K_STR, NULL}, {"readOnly", K_BOOL, NULL}, {"eventType", K_STR, NULL},
    {"managementEvent", K_BOOL, NULL}, {"recipientAccountId", K_STR, NULL}, {"eventCategory", K_STR, NULL},
    {"sharedEventID", K_STR, NULL}, {"vpcEndpointId", K_STR, NULL}, {"sessionCredentialFromConsole", K_STR, NULL},
    {"tlsDetails", K_OBJ, &TLS},
};
static const Obj RECORD = {"", 26, RECORD_F};

static const Obj *OBJS[] = {&RECORD, &IDENTITY, &CONTEXT, &ISSUER, &ATTR, &TLS};
#define N_OBJS 6
#define MAX_FIELDS 26

/* the raw fields searched for instance IDs, in the order derive.instance_ids reads them */
static const char *ID_SOURCES[] = {"requestParameters", "responseElements", "resources", "serviceEventDetails"};

/* ------------------------------------------------------------------------------------------------ the scanner */

typedef struct {
    int kind;            /* K_STR (also raw JSON text) or K_BOOL */
    Buf data;            /* K_STR: bytes; K_BOOL: one byte 0/1 per row */
    Buf offsets;         /* K_STR: int32 per row + 1 */
    Buf valid;           /* one byte per row */
    Py_ssize_t nulls;
    int set;             /* the current row has a value */
} Column;

typedef struct {
    PyObject_HEAD
    int ncols;
    Column cols[MAX_COLS];
    int col_of[N_OBJS][MAX_FIELDS];   /* column of each schema field, or -1 */
    int time_col;
    int id_fields[4];                 /* columns of ID_SOURCES */
    int max_depth;                    /* deepest level of nesting accepted in a record (the record: level 1) */
    Py_ssize_t max_record;            /* largest record accepted, bytes of its text */
    Py_ssize_t rows;
    Buf times, times_valid;           /* int64 microseconds, byte per row */
    Buf ids, id_offsets, id_lists;    /* instance IDs: bytes, int32 value offsets, int32 list offsets */
    Py_ssize_t nids;
    /* the current row's raw spans of ID_SOURCES */
    const char *span[4];
    Py_ssize_t span_len[4];
} Scanner;

typedef struct {
    const unsigned char *p, *end;
    int max_depth;  /* a container at this depth (the record: depth 1) or deeper is refused */
} Cur;

static inline void skip_ws(Cur *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' || *c->p == '\t')) c->p++;
}

static inline int hexval(unsigned char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

static int read_hex4(const unsigned char *p, const unsigned char *end, unsigned *out) {
    if (end - p < 4) return -1;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p[i]);
        if (h < 0) return -1;
        v = (v << 4) | (unsigned)h;
    }
    *out = v;
    return 0;
}

/* Length of a valid UTF-8 sequence starting at p (a byte >= 0x80), or 0 when invalid (overlong forms,
 * surrogates and code points above U+10FFFF are invalid). */
static inline int utf8_len(const unsigned char *p, const unsigned char *end) {
    unsigned char b = p[0];
    Py_ssize_t left = end - p;
    if (b >= 0xC2 && b <= 0xDF) {
        return (left >= 2 && (p[1] & 0xC0) == 0x80) ? 2 : 0;
    }
    if (b >= 0xE0 && b <= 0xEF) {
        if (left < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return 0;
        if (b == 0xE0 && p[1] < 0xA0) return 0;
        if (b == 0xED && p[1] >= 0xA0) return 0;
        return 3;
    }
    if (b >= 0xF0 && b <= 0xF4) {
        if (left < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80) return 0;
        if (b == 0xF0 && p[1] < 0x90) return 0;
        if (b == 0xF4 && p[1] >= 0x90) return 0;
        return 4;
    }
    return 0;
}

static void put_utf8(unsigned cp, unsigned char *out, int *n) {
    if (cp < 0x80) { out[0] = (unsigned char)cp; *n = 1; }
    else if (cp < 0x800) { out[0] = 0xC0 | (cp >> 6); out[1] = 0x80 | (cp & 0x3F); *n = 2; }
    else if (cp < 0x10000) {
        out[0] = 0xE0 | (cp >> 12); out[1] = 0x80 | ((cp >> 6) & 0x3F); out[2] = 0x80 | (cp & 0x3F); *n = 3;
    } else {
        out[0] = 0xF0 | (cp >> 18); out[1] = 0x80 | ((cp >> 12) & 0x3F);
        out[2] = 0x80 | ((cp >> 6) & 0x3F); out[3] = 0x80 | (cp & 0x3F); *n = 4;
    }
}

/* A JSON string at c->p (which is '"'). Validated; when out is given, its decoded bytes are appended to out.
 * *escaped tells whether it held an escape. Returns 0, or -1 when invalid (or out of memory: *oom set). */
/* The first byte at or after p that is '"', a backslash, a control character or not ASCII (end if none). */
static inline const unsigned char *plain_run(const unsigned char *p, const unsigned char *end) {
#ifdef __SSE2__
    const __m128i quote = _mm_set1_epi8('"'), slash = _mm_set1_epi8('\\'), space = _mm_set1_epi8(0x20);
    while (end - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)p);
        /* signed compare: bytes >= 0x80 are negative, so one test finds both < 0x20 and >= 0x80 */
        __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, slash)),
                                   _mm_cmplt_epi8(x, space));
        int mask = _mm_movemask_epi8(hit);
        if (mask) return p + __builtin_ctz((unsigned)mask);
        p += 16;
    }
#endif
    while (p < end && *p != '"' && *p != '\\' && *p >= 0x20 && *p < 0x80) p++;
    return p;
}

static int scan_string(Cur *c, Buf *out, int *escaped, int *oom) {
    const unsigned char *p = c->p + 1, *end = c->end;
    *escaped = 0;
    for (;;) {
        const unsigned char *run = p;
        p = plain_run(p, end);
        if (p >= end) return -1;
        unsigned char ch = *p;
        if (ch >= 0x80) {
            int n = utf8_len(p, end);
            if (!n) return -1;
            p += n;
            if (out && buf_put(out, run, p - run) < 0) { *oom = 1; return -1; }
            continue;
        }
        if (out && p > run && buf_put(out, run, p - run) < 0) { *oom = 1; return -1; }
        if (ch == '"') {
            c->p = p + 1;
            return 0;
        }
        if (ch < 0x20) return -1;
        /* a backslash */
        *escaped = 1;
        if (p + 1 >= end) return -1;
        unsigned char e = p[1], tmp[4];
        int n = 1;
        switch (e) {
            case '"': tmp[0] = '"'; break;
            case '\\': tmp[0] = '\\'; break;
            case '/': tmp[0] = '/'; break;
            case 'b': tmp[0] = '\b'; break;
            case 'f': tmp[0] = '\f'; break;
            case 'n': tmp[0] = '\n'; break;
            case 'r': tmp[0] = '\r'; break;
            case 't': tmp[0] = '\t'; break;
            case 'u': {
                unsigned cp;
                if (read_hex4(p + 2, end, &cp) < 0) return -1;
                p += 4;
                if (cp >= 0xD800 && cp <= 0xDBFF) {  /* a high surrogate: its low half must follow */
                    unsigned lo;
                    if (end - p < 8 || p[2] != '\\' || p[3] != 'u' || read_hex4(p + 4, end, &lo) < 0
                        || lo < 0xDC00 || lo > 0xDFFF)
                        return -1;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    p += 6;
                } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    return -1;  /* a lone low surrogate */
                }
                put_utf8(cp, tmp, &n);
                break;
            }
            default:
                return -1;
        }
        if (out && buf_put(out, tmp, n) < 0) { *oom = 1; return -1; }
        p += 2;
    }
}

static int scan_number(Cur *c) {
    const unsigned char *p = c->p, *end = c->end;
    if (p < end && *p == '-') p++;
    if (p >= end) return -1;
    if (*p == '0') p++;
    else if (*p >= '1' && *p <= '9') { while (p < end && *p >= '0' && *p <= '9') p++; }
    else return -1;
    if (p < end && *p == '.') {
        p++;
        if (p >= end || *p < '0' || *p > '9') return -1;
        while (p < end && *p >= '0' && *p <= '9') p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if (p >= end || *p < '0' || *p > '9') return -1;
        while (p < end && *p >= '0' && *p <= '9') p++;
    }
    c->p = p;
    return 0;
}

static inline int scan_literal(Cur *c, const char *word, Py_ssize_t n) {
    if (c->end - c->p < n || memcmp(c->p, word, (size_t)n) != 0) return -1;
    c->p += n;
    return 0;
}

/* Object members and array elements, with the caller just past the opening '{' or '['.
 * next_item: 1 with c->p at the next item (past the separating ','); 0 past the closing character; -1 when the text
 * is not valid JSON there. *first starts at 1. */
static inline int next_item(Cur *c, int *first, unsigned char closing) {
    skip_ws(c);
    if (c->p >= c->end) return -1;
    if (*c->p == closing) { c->p++; return 0; }
    if (!*first) {
        if (*c->p != ',') return -1;
        c->p++;
        skip_ws(c);
    }
    *first = 0;
    return c->p < c->end ? 1 : -1;
}

/* next_member: 1 with the next member's key (its raw text, and whether it held an escape) and c->p at its value;
 * 0 past the closing '}'; -1 when the text is not valid JSON there. */
static int next_member(Cur *c, int *first, const unsigned char **key, Py_ssize_t *klen, int *esc, int *oom) {
    int more = next_item(c, first, '}');
    if (more <= 0) return more;
    if (*c->p != '"') return -1;
    *key = c->p + 1;
    if (scan_string(c, NULL, esc, oom) < 0) return -1;
    *klen = (c->p - 1) - *key;
    skip_ws(c);
    if (c->p >= c->end || *c->p != ':') return -1;
    c->p++;
    skip_ws(c);
    return c->p < c->end ? 1 : -1;
}

/* next_element: 1 with c->p at the next element; 0 past the closing ']'; -1 when not valid JSON there. */
static inline int next_element(Cur *c, int *first) { return next_item(c, first, ']'); }

/* Validate and skip any JSON value. */
static int skip_value(Cur *c, int depth) {
    int esc, oom = 0, first = 1, more;
    const unsigned char *key;
    Py_ssize_t klen;
    if (c->p >= c->end) return -1;
    switch (*c->p) {
        case '"': return scan_string(c, NULL, &esc, &oom);
        case '{':
            if (depth >= c->max_depth) return -1;
            c->p++;
            while ((more = next_member(c, &first, &key, &klen, &esc, &oom)) > 0)
                if (skip_value(c, depth + 1) < 0) return -1;
            return more;
        case '[':
            if (depth >= c->max_depth) return -1;
            c->p++;
            while ((more = next_element(c, &first)) > 0)
                if (skip_value(c, depth + 1) < 0) return -1;
            return more;
        case 't': return scan_literal(c, "true", 4);
        case 'f': return scan_literal(c, "false", 5);
        case 'n': return scan_literal(c, "null", 4);
        default: return scan_number(c);
    }
}

static int field_index(const Obj *obj, const unsigned char *key, Py_ssize_t n) {
    for (int i = 0; i < obj->nfields; i++) {
        const FieldDef *f = &obj->fields[i];
        if (f->len == n && f->name[0] == key[0] && memcmp(f->name, key, (size_t)n) == 0) return i;
    }
    return -1;
}

static int obj_index(const Obj *obj) {
    for (int i = 0; i < N_OBJS; i++)
        if (OBJS[i] == obj) return i;
    return -1;
}

/* An object of the schema at c->p: every known field type-checked, the wanted ones copied into their columns.
 * Returns 0, or -1 to give the file to the Python path. */
static int scan_object(Scanner *s, Cur *c, const Obj *obj, int oi, int depth, int *oom) {
    uint32_t seen = 0;
    int esc, first = 1, more;
    const unsigned char *key;
    Py_ssize_t klen;
    if (depth >= c->max_depth || c->p >= c->end || *c->p != '{') return -1;
    c->p++;
    while ((more = next_member(c, &first, &key, &klen, &esc, oom)) > 0) {
        if (esc) return -1;  /* an escaped key: left to msgspec, which matches decoded names */
        int fi = field_index(obj, key, klen);
        if (fi < 0) {
            if (skip_value(c, depth + 1) < 0) return -1;
        } else {
            if (seen & (1u << fi)) return -1;  /* a repeated key */
            seen |= 1u << fi;
            const FieldDef *f = &obj->fields[fi];
            int col = s->col_of[oi][fi];
            Column *column = col >= 0 ? &s->cols[col] : NULL;
            unsigned char ch = *c->p;
            if (f->kind == K_OBJ) {
                if (scan_object(s, c, f->nested, obj_index(f->nested), depth + 1, oom) < 0) return -1;
            } else if (f->kind == K_STR) {
                if (ch == '"') {
                    if (scan_string(c, column ? &column->data : NULL, &esc, oom) < 0) return -1;
                    if (column) column->set = 1;
                } else if (scan_literal(c, "null", 4) < 0) {
                    return -1;
                }
            } else if (f->kind == K_BOOL) {
                unsigned char v;
                if (ch == 't' && scan_literal(c, "true", 4) == 0) v = 1;
                else if (ch == 'f' && scan_literal(c, "false", 5) == 0) v = 0;
                else if (ch == 'n' && scan_literal(c, "null", 4) == 0) v = 2;
                else return -1;
                if (column && v != 2) {
                    if (buf_put(&column->data, &v, 1) < 0) { *oom = 1; return -1; }
                    column->set = 1;
                }
            } else {  /* K_RAW: the value's own text; JSON null is a missing value */
                const unsigned char *start = c->p;
                if (skip_value(c, depth + 1) < 0) return -1;
                Py_ssize_t n = c->p - start;
                int is_null = (n == 4 && memcmp(start, "null", 4) == 0);
                if (column && !is_null) {
                    if (buf_put(&column->data, start, n) < 0) { *oom = 1; return -1; }
                    column->set = 1;
                }
                if (!is_null && oi == 0) {
                    for (int k = 0; k < 4; k++)
                        if (s->id_fields[k] == col && col >= 0) {
                            s->span[k] = (const char *)start;
                            s->span_len[k] = n;
                        }
                }
            }
        }
    }
    return more;
}

/* ---- per-row values derived from the text */

static const int64_t DAYS_BEFORE_MONTH[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};

static inline int is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static inline int digits(const unsigned char *p, int n, int64_t *out) {
    int64_t v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return -1;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return 0;
}

/* "YYYY-MM-DDTHH:MM:SSZ" with a valid date and time -> microseconds since the epoch; -1 for anything else. */
static int parse_time(const unsigned char *p, Py_ssize_t n, int64_t *out) {
    int64_t y, mo, d, h, mi, se;
    if (n != 20 || p[4] != '-' || p[7] != '-' || p[10] != 'T' || p[13] != ':' || p[16] != ':' || p[19] != 'Z')
        return -1;
    if (digits(p, 4, &y) || digits(p + 5, 2, &mo) || digits(p + 8, 2, &d) || digits(p + 11, 2, &h)
        || digits(p + 14, 2, &mi) || digits(p + 17, 2, &se))
        return -1;
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 59) return -1;
    static const int MDAYS[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int dim = MDAYS[mo - 1] + (mo == 2 && is_leap(y));
    if (d > dim) return -1;
    /* days since 1970-01-01 */
    int64_t yy = y - 1;
    int64_t days = yy * 365 + yy / 4 - yy / 100 + yy / 400 - 719162;  /* 719162 = days from 0001-01-01 to 1970 */
    days += DAYS_BEFORE_MONTH[mo - 1] + (mo > 2 && is_leap(y)) + (d - 1);
    *out = ((days * 24 + h) * 60 + mi) * 60 * 1000000LL + se * 1000000LL;
    return 0;
}

static inline int is_hex(unsigned char ch) { return hexval(ch) >= 0; }

static inline int is_word(unsigned char ch) {
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
}

static int contains(const char *s, Py_ssize_t n, const char *needle, Py_ssize_t m) {
    if (n < m) return 0;
    const char *end = s + n - m;
    for (const char *p = s; p <= end; p++) {
        p = memchr(p, needle[0], (size_t)(end - p + 1));
        if (!p) return 0;
        if (memcmp(p, needle, (size_t)m) == 0) return 1;
    }
    return 0;
}

/* ["/]i-[0-9a-fA-F]{8} anywhere in the text: the rows derive.instance_ids looks at */
static int may_hold_id(const char *s, Py_ssize_t n) {
    for (Py_ssize_t i = 1; i + 10 <= n; i++) {
        const char *p = memchr(s + i, 'i', (size_t)(n - i));
        if (!p) return 0;
        i = p - s;
        if (i + 10 <= n && (s[i - 1] == '"' || s[i - 1] == '/') && s[i + 1] == '-') {
            int ok = 1;
            for (int k = 0; k < 8; k++)
                if (!is_hex((unsigned char)s[i + 2 + k])) { ok = 0; break; }
            if (ok) return 1;
        }
    }
    return 0;
}

/* The IDs of one text in order (regex i-(?:[0-9a-fA-F]{17}|[0-9a-fA-F]{8})(?![A-Za-z0-9_-]), scanned left to
 * right without overlaps, kept when the character before is not a word character), new ones appended. */
static int collect_ids(Scanner *s, const char *t, Py_ssize_t n, Py_ssize_t first, int *count) {
    Py_ssize_t i = 0;
    while (i + 10 <= n) {
        const char *p = memchr(t + i, 'i', (size_t)(n - i));
        if (!p) break;
        i = p - t;
        if (i + 10 > n) break;
        Py_ssize_t len = 0;
        if (t[i + 1] == '-') {
            int h = 0;
            while (h < 17 && i + 2 + h < n && is_hex((unsigned char)t[i + 2 + h])) h++;
            if (h >= 17 && (i + 19 >= n || !is_word((unsigned char)t[i + 19]))) len = 19;
            else if (h >= 8 && (i + 10 >= n || !is_word((unsigned char)t[i + 10]))) len = 10;
        }
        if (!len) { i++; continue; }
        if (i == 0 || !is_word((unsigned char)t[i - 1])) {
            /* not already found in this row? */
            int dup = 0;
            const int32_t *offs = (const int32_t *)s->id_offsets.data;
            for (Py_ssize_t k = first; k < s->nids; k++) {
                if (offs[k + 1] - offs[k] == len && memcmp(s->ids.data + offs[k], t + i, (size_t)len) == 0) {
                    dup = 1;
                    break;
                }
            }
            if (!dup) {
                if (buf_put(&s->ids, t + i, len) < 0) return -1;
                if (s->ids.len > INT32_MAX) return -1;
                int32_t end = (int32_t)s->ids.len;
                if (buf_put(&s->id_offsets, &end, 4) < 0) return -1;
                s->nids++;
                (*count)++;
            }
        }
        i += len;
    }
    return 0;
}

static int row_ids(Scanner *s) {
    int any = 0, count = 0;
    Py_ssize_t first = s->nids;
    for (int k = 0; k < 4; k++)
        if (s->span[k] && may_hold_id(s->span[k], s->span_len[k])) { any = 1; break; }
    if (any) {
        for (int k = 0; k < 4; k++) {
            const char *t = s->span[k];
            Py_ssize_t n = s->span_len[k];
            if (t && (contains(t, n, "\"i-", 3) || contains(t, n, "/i-", 3)))
                if (collect_ids(s, t, n, first, &count) < 0) return -1;
        }
    }
    int32_t end = (int32_t)s->nids;
    return buf_put(&s->id_lists, &end, 4);
}

/* ---- rows */

static void begin_row(Scanner *s) {
    for (int i = 0; i < s->ncols; i++) s->cols[i].set = 0;
    for (int k = 0; k < 4; k++) { s->span[k] = NULL; s->span_len[k] = 0; }
}

static int end_row(Scanner *s) {
    for (int i = 0; i < s->ncols; i++) {
        Column *col = &s->cols[i];
        unsigned char v = (unsigned char)col->set;
        if (buf_put(&col->valid, &v, 1) < 0) return -1;
        if (col->kind == K_BOOL) {
            if (!col->set) { unsigned char zero = 0; if (buf_put(&col->data, &zero, 1) < 0) return -1; }
        } else {
            if (col->data.len > INT32_MAX) return -1;
            int32_t end = (int32_t)col->data.len;
            if (buf_put(&col->offsets, &end, 4) < 0) return -1;
        }
        col->nulls += !col->set;
    }
    /* eventTime */
    Column *tc = &s->cols[s->time_col];
    const int32_t *offs = (const int32_t *)tc->offsets.data;
    int64_t micros = 0;
    unsigned char ok = parse_time((const unsigned char *)tc->data.data + offs[s->rows], offs[s->rows + 1] - offs[s->rows],
                                  &micros) == 0;
    if (buf_put(&s->times, &micros, 8) < 0 || buf_put(&s->times_valid, &ok, 1) < 0) return -1;
    if (row_ids(s) < 0) return -1;
    s->rows++;
    return 0;
}

typedef struct {
    Py_ssize_t rows, nids, ids, id_offsets, id_lists, times, times_valid;
    Py_ssize_t data[MAX_COLS], offsets[MAX_COLS], valid[MAX_COLS], nulls[MAX_COLS];
} Mark;

static void mark(Scanner *s, Mark *m) {
    m->rows = s->rows; m->nids = s->nids; m->ids = s->ids.len; m->id_offsets = s->id_offsets.len;
    m->id_lists = s->id_lists.len; m->times = s->times.len; m->times_valid = s->times_valid.len;
    for (int i = 0; i < s->ncols; i++) {
        m->data[i] = s->cols[i].data.len; m->offsets[i] = s->cols[i].offsets.len;
        m->valid[i] = s->cols[i].valid.len; m->nulls[i] = s->cols[i].nulls;
    }
}

static void rollback(Scanner *s, const Mark *m) {
    s->rows = m->rows; s->nids = m->nids; s->ids.len = m->ids; s->id_offsets.len = m->id_offsets;
    s->id_lists.len = m->id_lists; s->times.len = m->times; s->times_valid.len = m->times_valid;
    for (int i = 0; i < s->ncols; i++) {
        s->cols[i].data.len = m->data[i]; s->cols[i].offsets.len = m->offsets[i];
        s->cols[i].valid.len = m->valid[i]; s->cols[i].nulls = m->nulls[i];
    }
}

/* A record at c->p; -1 when it does not fit (or has no eventTime). */
static int scan_record(Scanner *s, Cur *c, int *oom) {
    const unsigned char *start = c->p;
    begin_row(s);
    if (scan_object(s, c, &RECORD, 0, 1, oom) < 0) return -1;
    if (c->p - start > s->max_record) return -1;  /* the Python path skips it with the reason */
    if (!s->cols[s->time_col].set) return -1;  /* no eventTime: the Python path counts it as skipped */
    if (end_row(s) < 0) { *oom = 1; return -1; }
    return 0;
}

static int scan_array(Scanner *s, Cur *c, int *oom) {
    int first = 1, more;
    if (c->p >= c->end || *c->p != '[') return -1;
    c->p++;
    while ((more = next_element(c, &first)) > 0)
        if (scan_record(s, c, oom) < 0) return -1;
    return more;
}

static int scan_document(Scanner *s, Cur *c, int *oom) {
    int esc, found = 0, first = 1, more;
    const unsigned char *key;
    Py_ssize_t klen;
    skip_ws(c);
    if (c->p >= c->end) return -1;
    if (*c->p == '[') {
        if (scan_array(s, c, oom) < 0) return -1;
    } else if (*c->p == '{') {  /* the envelope: "Records" must be there; other keys are validated and skipped */
        c->p++;
        while ((more = next_member(c, &first, &key, &klen, &esc, oom)) > 0) {
            if (esc) return -1;
            if (klen == 7 && memcmp(key, "Records", 7) == 0) {
                if (found) return -1;
                found = 1;
                if (scan_array(s, c, oom) < 0) return -1;
            } else if (skip_value(c, 1) < 0) {
                return -1;
            }
        }
        if (more < 0 || !found) return -1;
    } else {
        return -1;
    }
    skip_ws(c);
    return c->p == c->end ? 0 : -1;
}

/* ------------------------------------------------------------------------------------------------ Python API */

static PyObject *Scanner_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    Scanner *s = (Scanner *)type->tp_alloc(type, 0);
    return (PyObject *)s;
}

static int dotted_path(const Obj *obj, const FieldDef *f, char *out, size_t cap) {
    int n = snprintf(out, cap, "%s%s", obj->path, f->name);
    return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}

static int Scanner_init(Scanner *s, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"columns", "max_depth", "max_record", NULL};
    PyObject *columns;
    int max_depth = MAX_DEPTH - 1;
    Py_ssize_t max_record = PY_SSIZE_T_MAX;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!|in", kwlist, &PyTuple_Type, &columns, &max_depth, &max_record))
        return -1;
    s->max_depth = max_depth < 1 ? 1 : max_depth > MAX_DEPTH - 1 ? MAX_DEPTH - 1 : max_depth;
    s->max_record = max_record < 0 ? 0 : max_record;
    Py_ssize_t n = PyTuple_GET_SIZE(columns);
    if (n < 1 || n > MAX_COLS) {
        PyErr_SetString(PyExc_ValueError, "between 1 and 64 columns");
        return -1;
    }
    s->ncols = (int)n;
    s->time_col = -1;
    for (int k = 0; k < 4; k++) s->id_fields[k] = -1;
    for (int o = 0; o < N_OBJS; o++)
        for (int f = 0; f < MAX_FIELDS; f++) s->col_of[o][f] = -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        const char *want = PyUnicode_AsUTF8(PyTuple_GET_ITEM(columns, i));
        if (!want) return -1;
        int found = 0;
        for (int o = 0; o < N_OBJS && !found; o++) {
            for (int f = 0; f < OBJS[o]->nfields; f++) {
                char path[160];
                const FieldDef *fd = &OBJS[o]->fields[f];
                if (fd->kind == K_OBJ || dotted_path(OBJS[o], fd, path, sizeof path) < 0) continue;
                if (strcmp(path, want) == 0) {
                    s->col_of[o][f] = (int)i;
                    s->cols[i].kind = fd->kind == K_BOOL ? K_BOOL : K_STR;
                    found = 1;
                    break;
                }
            }
        }
        if (!found) {
            PyErr_Format(PyExc_ValueError, "no such record field: %s", want);
            return -1;
        }
        if (strcmp(want, "eventTime") == 0) s->time_col = (int)i;
        for (int k = 0; k < 4; k++)
            if (strcmp(want, ID_SOURCES[k]) == 0) s->id_fields[k] = (int)i;
    }
    if (s->time_col < 0) {
        PyErr_SetString(PyExc_ValueError, "the columns must include eventTime");
        return -1;
    }
    for (int i = 0; i < s->ncols; i++) {
        int32_t zero = 0;
        if (s->cols[i].kind == K_STR && s->cols[i].offsets.len == 0 && buf_put(&s->cols[i].offsets, &zero, 4) < 0)
            return PyErr_NoMemory(), -1;
    }
    int32_t zero = 0;
    if ((s->id_offsets.len == 0 && buf_put(&s->id_offsets, &zero, 4) < 0)
        || (s->id_lists.len == 0 && buf_put(&s->id_lists, &zero, 4) < 0))
        return PyErr_NoMemory(), -1;
    return 0;
}

static void Scanner_dealloc(Scanner *s) {
    for (int i = 0; i < MAX_COLS; i++) {
        buf_free(&s->cols[i].data);
        buf_free(&s->cols[i].offsets);
        buf_free(&s->cols[i].valid);
    }
    buf_free(&s->times); buf_free(&s->times_valid);
    buf_free(&s->ids); buf_free(&s->id_offsets); buf_free(&s->id_lists);
    Py_TYPE(s)->tp_free((PyObject *)s);
}

static PyObject *Scanner_add(Scanner *s, PyObject *arg) {
    Py_buffer view;
    if (s->ncols == 0) {
        PyErr_SetString(PyExc_RuntimeError, "Scanner not initialized");
        return NULL;
    }
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) return NULL;
    Mark m;
    mark(s, &m);
    Cur c = {(const unsigned char *)view.buf, (const unsigned char *)view.buf + view.len, s->max_depth + 1};
    int oom = 0, rc;
    Py_BEGIN_ALLOW_THREADS
    rc = scan_document(s, &c, &oom);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    if (rc < 0) {
        rollback(s, &m);
        return PyLong_FromLong(-1);
    }
    return PyLong_FromSsize_t(s->rows - m.rows);
}

/* one byte per row -> an Arrow validity bitmap */
static PyObject *bitmap(const Buf *bytes, Py_ssize_t rows) {
    PyObject *out = PyBytes_FromStringAndSize(NULL, (rows + 7) / 8);
    if (!out) return NULL;
    unsigned char *bits = (unsigned char *)PyBytes_AS_STRING(out);
    memset(bits, 0, (size_t)((rows + 7) / 8));
    const unsigned char *v = (const unsigned char *)bytes->data;
    for (Py_ssize_t i = 0; i < rows; i++)
        if (v[i]) bits[i >> 3] |= (unsigned char)(1u << (i & 7));
    return out;
}

static PyObject *as_bytes(const Buf *b) {
    return PyBytes_FromStringAndSize(b->data ? b->data : "", b->len);
}

/* A Block owns memory a Buf held and lends it through the buffer protocol (pyarrow.py_buffer keeps the Block
 * alive as long as an array uses it): the column data is handed over, not copied. */
typedef struct {
    PyObject_HEAD
    char *data;
    Py_ssize_t len;
} Block;

static void Block_dealloc(Block *b) {
    PyMem_RawFree(b->data);
    Py_TYPE(b)->tp_free((PyObject *)b);
}

static int Block_getbuffer(Block *b, Py_buffer *view, int flags) {
    return PyBuffer_FillInfo(view, (PyObject *)b, b->data ? b->data : (char *)"", b->len, 1, flags);
}

static PyBufferProcs Block_as_buffer = {(getbufferproc)Block_getbuffer, NULL};

static PyTypeObject BlockType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "trailtools.events._scan.Block",
    .tp_basicsize = sizeof(Block),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Memory handed over by a Scanner (read-only buffer).",
    .tp_dealloc = (destructor)Block_dealloc,
    .tp_as_buffer = &Block_as_buffer,
};

/* Hand a Buf's memory to a new Block; the Buf starts again with a fresh allocation of the same capacity (pages
 * not yet touched cost nothing), so that it does not have to grow again. */
static PyObject *hand_over(Buf *b) {
    Block *block = PyObject_New(Block, &BlockType);
    if (!block) return NULL;
    Py_ssize_t cap = b->cap;
    block->data = b->data;
    block->len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    if (cap && buf_reserve(b, cap) < 0) {
        Py_DECREF(block);
        return PyErr_NoMemory();
    }
    return (PyObject *)block;
}

static void reset(Scanner *s) {
    for (int i = 0; i < s->ncols; i++) {
        Column *col = &s->cols[i];
        col->data.len = col->valid.len = 0;
        col->offsets.len = col->kind == K_STR ? 4 : 0;  /* keeps the leading 0 */
        col->nulls = 0;
    }
    s->rows = 0;
    s->nids = 0;
    s->times.len = s->times_valid.len = 0;
    s->ids.len = 0;
    s->id_offsets.len = 4;
    s->id_lists.len = 4;
}

/* take() -> (rows, columns, times, ids) and start again empty.
 *   columns: per column, (validity bitmap, null count, data, offsets or None for booleans)
 *   times: (int64 microseconds, validity bitmap, null count)
 *   ids: (list offsets int32, value offsets int32, value bytes) */
static PyObject *Scanner_take(Scanner *s, PyObject *unused) {
    Py_ssize_t rows = s->rows;
    PyObject *cols = PyList_New(s->ncols);
    if (!cols) return NULL;
    for (int i = 0; i < s->ncols; i++) {
        Column *col = &s->cols[i];
        PyObject *data;
        if (col->kind == K_BOOL) {
            Buf tmp = {col->data.data, col->data.len, col->data.cap};
            data = bitmap(&tmp, rows);
        } else {
            data = hand_over(&col->data);
        }
        PyObject *item = Py_BuildValue("(NnNN)", bitmap(&col->valid, rows), col->nulls, data,
                                       col->kind == K_BOOL ? Py_NewRef(Py_None) : as_bytes(&col->offsets));
        if (!item) { Py_DECREF(cols); return NULL; }
        PyList_SET_ITEM(cols, i, item);
    }
    Py_ssize_t time_nulls = 0;
    for (Py_ssize_t i = 0; i < rows; i++) time_nulls += !s->times_valid.data[i];
    PyObject *out = Py_BuildValue("(nN(NNn)(NNN))", rows, cols, as_bytes(&s->times), bitmap(&s->times_valid, rows),
                                  time_nulls, as_bytes(&s->id_lists), as_bytes(&s->id_offsets), as_bytes(&s->ids));
    if (out) reset(s);
    return out;
}

static PyObject *Scanner_get_rows(Scanner *s, void *closure) { return PyLong_FromSsize_t(s->rows); }

static PyObject *Scanner_get_nbytes(Scanner *s, void *closure) {
    Py_ssize_t n = s->ids.len + s->times.len;
    for (int i = 0; i < s->ncols; i++) n += s->cols[i].data.len + s->cols[i].offsets.len;
    return PyLong_FromSsize_t(n);
}

static PyMethodDef Scanner_methods[] = {
    {"add", (PyCFunction)Scanner_add, METH_O,
     "add(text) -> rows added from one file's JSON text, or -1 when the file must take the Python path."},
    {"take", (PyCFunction)Scanner_take, METH_NOARGS,
     "take() -> (rows, columns, times, instance_ids) as Arrow buffers; the scanner starts again empty."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Scanner_getset[] = {
    {"rows", (getter)Scanner_get_rows, NULL, "rows held", NULL},
    {"nbytes", (getter)Scanner_get_nbytes, NULL, "bytes held in column data", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject ScannerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "trailtools.events._scan.Scanner",
    .tp_basicsize = sizeof(Scanner),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Scanner(columns): CloudTrail JSON text -> Arrow column buffers for the named record fields.",
    .tp_new = Scanner_new,
    .tp_init = (initproc)Scanner_init,
    .tp_dealloc = (destructor)Scanner_dealloc,
    .tp_methods = Scanner_methods,
    .tp_getset = Scanner_getset,
};

/* nesting(text) -> how deep the containers of a JSON text nest ("[]": 1), strings not counted: the native twin of
 * trailtools/events/reader.py's nesting(), which the reader asks before decoding a file in Python (the depth limit). Any
 * bytes are accepted (an unclosed string runs to the end); the GIL is released. */
static PyObject *nesting(PyObject *self, PyObject *arg) {
    (void)self;
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) return NULL;
    const unsigned char *p = (const unsigned char *)view.buf, *end = p + view.len;
    Py_ssize_t depth = 0, deepest = 0;
    Py_BEGIN_ALLOW_THREADS
    while (p < end) {
        unsigned char ch = *p++;
        if (ch == '"') {
            while (p < end) {
                unsigned char c = *p++;
                if (c == '\\') {
                    if (p < end) p++;
                } else if (c == '"') {
                    break;
                }
            }
        } else if (ch == '[' || ch == '{') {
            if (++depth > deepest) deepest = depth;
        } else if (ch == ']' || ch == '}') {
            depth--;
        }
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    return PyLong_FromSsize_t(deepest);
}

static PyMethodDef scan_functions[] = {
    {"nesting", nesting, METH_O, "nesting(text) -> the depth of its deepest container (strings not counted)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef scanmodule = {
    PyModuleDef_HEAD_INIT, "trailtools.events._scan",
    "The reader's native fast path: CloudTrail JSON -> Arrow column buffers (see trailtools/events/table.py).", -1,
    scan_functions,
};

PyMODINIT_FUNC PyInit__scan(void) {
    for (int o = 0; o < N_OBJS; o++)
        for (int f = 0; f < OBJS[o]->nfields; f++) OBJS[o]->fields[f].len = (Py_ssize_t)strlen(OBJS[o]->fields[f].name);
    if (PyType_Ready(&ScannerType) < 0 || PyType_Ready(&BlockType) < 0) return NULL;
    PyObject *m = PyModule_Create(&scanmodule);
    if (!m) return NULL;
    Py_INCREF(&ScannerType);
    if (PyModule_AddObject(m, "Scanner", (PyObject *)&ScannerType) < 0) {
        Py_DECREF(&ScannerType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
