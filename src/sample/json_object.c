/*
 * json_object.c — the JSON-object constraint (include/hearth/constraint.h):
 * an incremental JSON validator for constrained output (response_format
 * {"type":"json_object"}) that accepts exactly the byte prefixes of one JSON
 * object, so the sampler can mask every token whose text would make the
 * output invalid.
 *
 * Grammar (RFC 8259): the top level is an object; values are objects,
 * arrays, strings (escapes \" \\ \/ \b \f \n \r \t \uXXXX, no raw control
 * bytes), numbers (-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?), true,
 * false, null. Whitespace between tokens, at most MAX_WS bytes in a row (a
 * small model could otherwise emit spaces forever).
 */
#include "hearth/constraint.h"

#include <stdlib.h>
#include <string.h>

#define MAX_WS 4
#define JSONC_MAX_DEPTH 48

/* The parser state: a plain value, so copying it snapshots the state. */
typedef struct jsonc {
    char stack[JSONC_MAX_DEPTH];   /* '{' or '[' per open container */
    int depth;
    int st;            /* lexer/parser state (the enum below) */
    int lit;           /* literal being matched: index into the literal table */
    int lit_i;         /* bytes of it matched */
    int hex;           /* \u hex digits still expected */
    int ws;            /* consecutive whitespace bytes */
    bool key;          /* the string being read is an object key */
    bool done;         /* the top-level object is complete */
} jsonc;

enum {
    S_TOP,        /* before the top-level '{' */
    S_VALUE,      /* a value is expected (after ':' or ',' in an array) */
    S_ARR_FIRST,  /* after '[': a value or ']' */
    S_OBJ_FIRST,  /* after '{': a key or '}' */
    S_KEY,        /* after ',' in an object: a key */
    S_COLON,      /* after a key */
    S_AFTER,      /* after a value: ',' or the container's closing bracket */
    S_STR,        /* inside a string */
    S_ESC,        /* after a backslash */
    S_HEX,        /* inside \uXXXX */
    S_LIT,        /* inside true / false / null */
    S_NUM_MINUS,  /* after '-' */
    S_NUM_ZERO,   /* integer part is 0 */
    S_NUM_INT,    /* integer digits */
    S_NUM_DOT,    /* after '.' */
    S_NUM_FRAC,   /* fraction digits */
    S_NUM_E,      /* after e/E */
    S_NUM_ESIGN,  /* after the exponent's sign */
    S_NUM_EXP,    /* exponent digits */
    S_DONE,
};

static const char *const LITS[] = {"true", "false", "null"};

static void jsonc_init(jsonc *j) {
    memset(j, 0, sizeof *j);
    j->st = S_TOP;
}

static bool is_ws(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static bool is_hex(unsigned char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

/* a value ended: what follows depends on the enclosing container */
static void value_done(jsonc *j) {
    j->st = S_AFTER;
    if (j->depth == 0) j->st = S_DONE, j->done = true;
}

static bool open_container(jsonc *j, char c) {
    if (j->depth >= JSONC_MAX_DEPTH) return false;
    j->stack[j->depth++] = c;
    j->st = c == '{' ? S_OBJ_FIRST : S_ARR_FIRST;
    return true;
}

static bool close_container(jsonc *j, char c) {
    if (j->depth == 0 || j->stack[j->depth - 1] != (c == '}' ? '{' : '[')) return false;
    j->depth--;
    value_done(j);
    return true;
}

/* the first byte of a value */
static bool start_value(jsonc *j, unsigned char c) {
    if (c == '{' || c == '[') return open_container(j, (char)c);
    if (c == '"') { j->st = S_STR; j->key = false; return true; }
    if (c == '-') { j->st = S_NUM_MINUS; return true; }
    if (c == '0') { j->st = S_NUM_ZERO; return true; }
    if (c >= '1' && c <= '9') { j->st = S_NUM_INT; return true; }
    for (int i = 0; i < 3; i++)
        if (c == (unsigned char)LITS[i][0]) {
            j->st = S_LIT, j->lit = i, j->lit_i = 1;
            return true;
        }
    return false;
}

/* in a state where whitespace may come (between tokens) */
static bool between_tokens(jsonc *j, unsigned char c) {
    switch (j->st) {
    case S_TOP: return c == '{' && open_container(j, '{');
    case S_VALUE: return start_value(j, c);
    case S_ARR_FIRST: return c == ']' ? close_container(j, ']') : start_value(j, c);
    case S_OBJ_FIRST:
        if (c == '}') return close_container(j, '}');
        /* fallthrough */
    case S_KEY:
        if (c != '"') return false;
        j->st = S_STR, j->key = true;
        return true;
    case S_COLON:
        if (c != ':') return false;
        j->st = S_VALUE;
        return true;
    case S_AFTER:
        if (c == ',') {
            j->st = j->stack[j->depth - 1] == '{' ? S_KEY : S_VALUE;
            return true;
        }
        return (c == '}' || c == ']') && close_container(j, (char)c);
    default: return false;
    }
}

/* a number ends at the first byte that cannot continue it; that byte is
 * then read as what follows the value */
static bool end_number(jsonc *j, unsigned char c) {
    value_done(j);
    if (j->done) return false;   /* numbers are never top-level here */
    if (is_ws(c)) { j->ws = 1; return true; }
    return between_tokens(j, c);
}

/* Feeds one byte; false (state unspecified) if it makes the text invalid. */
static bool jsonc_push(jsonc *j, unsigned char c) {
    switch (j->st) {
    case S_DONE: return false;
    case S_STR:
        if (c == '"') {
            if (j->key) j->st = S_COLON;
            else value_done(j);
            j->ws = 0;
            return true;
        }
        if (c == '\\') { j->st = S_ESC; return true; }
        return c >= 0x20;
    case S_ESC:
        if (c == 'u') { j->st = S_HEX, j->hex = 4; return true; }
        if (!strchr("\"\\/bfnrt", c) || c == 0) return false;
        j->st = S_STR;
        return true;
    case S_HEX:
        if (!is_hex(c)) return false;
        if (--j->hex == 0) j->st = S_STR;
        return true;
    case S_LIT:
        if (c != (unsigned char)LITS[j->lit][j->lit_i]) return false;
        if (LITS[j->lit][++j->lit_i] == 0) value_done(j), j->ws = 0;
        return true;
    case S_NUM_MINUS:
        if (c == '0') { j->st = S_NUM_ZERO; return true; }
        if (is_digit(c)) { j->st = S_NUM_INT; return true; }
        return false;
    case S_NUM_ZERO:
    case S_NUM_INT:
        if (j->st == S_NUM_INT && is_digit(c)) return true;
        if (c == '.') { j->st = S_NUM_DOT; return true; }
        if (c == 'e' || c == 'E') { j->st = S_NUM_E; return true; }
        return end_number(j, c);
    case S_NUM_DOT:
        if (!is_digit(c)) return false;
        j->st = S_NUM_FRAC;
        return true;
    case S_NUM_FRAC:
        if (is_digit(c)) return true;
        if (c == 'e' || c == 'E') { j->st = S_NUM_E; return true; }
        return end_number(j, c);
    case S_NUM_E:
        if (c == '+' || c == '-') { j->st = S_NUM_ESIGN; return true; }
        if (!is_digit(c)) return false;
        j->st = S_NUM_EXP;
        return true;
    case S_NUM_ESIGN:
        if (!is_digit(c)) return false;
        j->st = S_NUM_EXP;
        return true;
    case S_NUM_EXP:
        if (is_digit(c)) return true;
        return end_number(j, c);
    default:
        if (is_ws(c)) return j->st != S_TOP && ++j->ws <= MAX_WS;
        j->ws = 0;
        return between_tokens(j, c);
    }
}

/* ==== the constraint interface ==== */
static bool jo_allows(const void *state, const char *s, size_t n) {
    jsonc t = *(const jsonc *)state;
    for (size_t i = 0; i < n; i++)
        if (!jsonc_push(&t, (unsigned char)s[i])) return false;
    return true;
}

static bool jo_advance(void *state, const char *s, size_t n) {
    jsonc *j = state;
    for (size_t i = 0; i < n; i++)
        if (!jsonc_push(j, (unsigned char)s[i])) return false;
    return true;
}

static hearth_constraint_state jo_complete(const void *state) {
    return ((const jsonc *)state)->done ? HEARTH_CONSTRAINT_DONE : HEARTH_CONSTRAINT_OPEN;
}

static const hearth_constraint_vtable JSON_OBJECT = {"json_object", jo_allows, jo_advance, jo_complete, free, NULL};

hearth_status hearth_constraint_json_object(hearth_constraint **out) {
    *out = NULL;
    jsonc *j = malloc(sizeof *j);
    if (!j) return hearth_set_error(HEARTH_ERR_NOMEM, "json_object constraint: out of memory");
    jsonc_init(j);
    *out = hearth_constraint_create(&JSON_OBJECT, j);
    return *out ? HEARTH_OK : HEARTH_ERR_NOMEM;
}
