/* hookseal._speedups: the optional C accelerator (see docs/speedups.md).
 *
 * HMAC-SHA256 from pre-keyed SHA-256 states (RFC 2104: the key is padded and XORed with
 * ipad/opad once per secret; each request copies the two states), written against OpenSSL's
 * libcrypto, and the whole check of the default ``Signature`` scheme fused into one call.
 *
 * The fused check decides only what it is sure the Python path decides alike: for anything
 * unusual (a missing, repeated, non-ASCII or malformed header, a body that is not plain bytes,
 * a replay guard, an oversized body...) it returns None and the caller takes the Python path,
 * which raises the right typed error. Secret states are wiped with OPENSSL_cleanse when freed;
 * digests are compared with CRYPTO_memcmp; the GIL is released only while hashing a large
 * buffer that is either immutable (bytes) or held by a buffer export, and only on state that
 * no other thread can reach.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* The low-level SHA-256 API: its context is a plain struct, so a pre-keyed state is copied by
 * assignment (no allocation per request, unlike EVP_MD_CTX_copy_ex). Deprecated, not removed,
 * in OpenSSL 3; a build without it fails to compile, and hookseal then stays pure Python. */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <stdlib.h>
#include <string.h>

#if PY_VERSION_HEX < 0x030C0000
#include <structmember.h> /* PyMemberDef and T_OBJECT_EX, public in Python.h from 3.12 */
#define Py_T_OBJECT_EX T_OBJECT_EX
#endif

#define ABI_VERSION 1           /* hookseal/_accel.py refuses a module built from other code */
#define DIGEST_SIZE 32
#define BLOCK_SIZE 64
#define MAX_SIGNATURES 16       /* hookseal.schemes._base.MAX_SIGNATURES */
#define MAX_HEADER_LENGTH 8192  /* hookseal.headers.MAX_HEADER_LENGTH */
#define GIL_RELEASE_SIZE 65536  /* hash bigger buffers with the GIL released */

enum { ENCODING_AUTO = 0, ENCODING_HEX = 1, ENCODING_BASE64 = 2 };

typedef struct {
    SHA256_CTX inner; /* after hashing key ^ ipad */
    SHA256_CTX outer; /* after hashing key ^ opad */
} Keyed;

typedef unsigned char Digest[DIGEST_SIZE];

/* The arguments of a METH_FASTCALL | METH_KEYWORDS method by position and by name, into
 * ``out[0..most)`` (NULL where an optional one is absent); the first ``least`` are required. */
static int
gather(const char *function, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
       const char *const *names, Py_ssize_t least, Py_ssize_t most, PyObject **out)
{
    Py_ssize_t keywords = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    if (nargs > most) {
        PyErr_Format(PyExc_TypeError, "%s() takes at most %zd arguments (%zd given)", function,
                     most, nargs);
        return 0;
    }
    for (Py_ssize_t i = 0; i < most; i++) out[i] = i < nargs ? args[i] : NULL;
    for (Py_ssize_t j = 0; j < keywords; j++) {
        PyObject *name = PyTuple_GET_ITEM(kwnames, j);
        Py_ssize_t k = 0;
        while (k < most && PyUnicode_CompareWithASCIIString(name, names[k]) != 0) k++;
        if (k == most || out[k] != NULL) {
            PyErr_Format(PyExc_TypeError, "%s() got an unexpected or repeated argument %R",
                         function, name);
            return 0;
        }
        out[k] = args[nargs + j];
    }
    for (Py_ssize_t i = 0; i < least; i++) {
        if (out[i] == NULL) {
            PyErr_Format(PyExc_TypeError, "%s() missing required argument '%s'", function,
                         names[i]);
            return 0;
        }
    }
    return 1;
}

/* An exact str's characters are ASCII (on 3.10 and 3.11 a str may still need readying). */
static int
is_ascii_str(PyObject *text)
{
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(text) < 0) {
        PyErr_Clear();
        return 0;
    }
#endif
    return PyUnicode_IS_ASCII(text);
}

/* The verifier's attributes the fused check reads, by index. */
enum { ATTR_REPLAY_GUARD, ATTR_SCHEME, ATTR_PROVIDER, ATTR_FIXED, ATTR_MAX_BODY_SIZE,
       ATTR_PREFERRED, ATTR_COUNT };
static const char *const attribute_names[ATTR_COUNT] = {
    "replay_guard", "scheme", "provider", "_fixed", "max_body_size", "_preferred"};
static PyObject *attribute_strs[ATTR_COUNT];
static PyObject *str_mismatch, *str_get;
static PyObject *mapping_abc;          /* collections.abc.Mapping */
static PyTypeObject *mapping_seen;     /* the last type found to be a Mapping (strong ref) */

/* -- HMAC ------------------------------------------------------------------------------------ */

static void
keyed_init(Keyed *keyed, const unsigned char *key, size_t size)
{
    unsigned char block[BLOCK_SIZE], pad[BLOCK_SIZE];
    memset(block, 0, sizeof block);
    if (size > BLOCK_SIZE) {
        SHA256(key, size, block); /* RFC 2104: longer keys are hashed first */
    }
    else if (size > 0) {
        memcpy(block, key, size);
    }
    for (int i = 0; i < BLOCK_SIZE; i++) pad[i] = block[i] ^ 0x36;
    SHA256_Init(&keyed->inner);
    SHA256_Update(&keyed->inner, pad, BLOCK_SIZE);
    for (int i = 0; i < BLOCK_SIZE; i++) pad[i] = block[i] ^ 0x5c;
    SHA256_Init(&keyed->outer);
    SHA256_Update(&keyed->outer, pad, BLOCK_SIZE);
    OPENSSL_cleanse(block, sizeof block);
    OPENSSL_cleanse(pad, sizeof pad);
}

/* The outer hash over a finished inner state; ``inner`` is consumed and wiped. */
static void
hmac_finish(SHA256_CTX *inner, const SHA256_CTX *outer_key, unsigned char *out)
{
    unsigned char inner_digest[DIGEST_SIZE];
    SHA256_CTX outer = *outer_key;
    SHA256_Final(inner_digest, inner);
    SHA256_Update(&outer, inner_digest, DIGEST_SIZE);
    SHA256_Final(out, &outer);
    OPENSSL_cleanse(inner_digest, sizeof inner_digest);
    OPENSSL_cleanse(inner, sizeof *inner);
    OPENSSL_cleanse(&outer, sizeof outer);
}

/* HMAC of prefix + body. The caller may have released the GIL: no Python object is touched. */
static void
hmac_compute(const Keyed *keyed, const unsigned char *prefix, size_t prefix_size,
             const unsigned char *body, size_t body_size, unsigned char *out)
{
    SHA256_CTX inner = keyed->inner;
    if (prefix_size) SHA256_Update(&inner, prefix, prefix_size);
    if (body_size) SHA256_Update(&inner, body, body_size);
    hmac_finish(&inner, &keyed->outer, out);
}

/* Whether ``expected`` equals one of ``count`` digests; each comparison is constant-time. */
static int
matches_any(const unsigned char *expected, Digest *digests, int count)
{
    for (int i = 0; i < count; i++) {
        if (CRYPTO_memcmp(expected, digests[i], DIGEST_SIZE) == 0) return 1;
    }
    return 0;
}

/* hmac.compare_digest(expected, presented) for one presented object: 1, 0, or -1 with an error
 * (a str, or an object without the buffer protocol, as compare_digest refuses them). */
static int
compare_presented(const unsigned char *expected, PyObject *presented)
{
    Py_buffer view;
    int equal;
    if (PyUnicode_Check(presented) ||
        PyObject_GetBuffer(presented, &view, PyBUF_SIMPLE) < 0) {
        PyErr_Clear();
        PyErr_Format(PyExc_TypeError,
                     "unsupported operand types(s) or combination of types: 'bytes' and '%.100s'",
                     Py_TYPE(presented)->tp_name);
        return -1;
    }
    /* Like compare_digest: a length mismatch is an immediate False (lengths are not secret). */
    equal = view.len == DIGEST_SIZE && CRYPTO_memcmp(expected, view.buf, DIGEST_SIZE) == 0;
    PyBuffer_Release(&view);
    return equal;
}

/* True if one of ``signatures`` (an iterable) equals ``expected``; -1 on error. */
static int
matches_presented(const unsigned char *expected, PyObject *signatures)
{
    PyObject *iterator = PyObject_GetIter(signatures), *item;
    int found = 0;
    if (iterator == NULL) return -1;
    while ((item = PyIter_Next(iterator)) != NULL) {
        found = compare_presented(expected, item);
        Py_DECREF(item);
        if (found != 0) break;
    }
    Py_DECREF(iterator);
    if (found == 0 && PyErr_Occurred()) return -1;
    return found;
}

/* A bytes-like object's buffer; a str is refused the way hashlib refuses it. */
static int
get_bytes(PyObject *object, Py_buffer *view)
{
    if (PyUnicode_Check(object)) {
        PyErr_SetString(PyExc_TypeError, "Strings must be encoded before hashing");
        return -1;
    }
    return PyObject_GetBuffer(object, view, PyBUF_SIMPLE);
}

/* -- Digester: the streaming HMAC of one secret ----------------------------------------------- */

typedef struct {
    PyObject_HEAD
    SHA256_CTX inner;
    SHA256_CTX outer;
    int busy; /* set (under the GIL) while another thread hashes with the GIL released */
} DigesterObject;

static PyTypeObject DigesterType;

static void
digester_dealloc(DigesterObject *self)
{
    OPENSSL_cleanse(&self->inner, sizeof self->inner);
    OPENSSL_cleanse(&self->outer, sizeof self->outer);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int
digester_claim(DigesterObject *self)
{
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "this digester is in use by another thread");
        return -1;
    }
    return 0;
}

static PyObject *
digester_update(DigesterObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"chunk"};
    PyObject *chunk;
    Py_buffer view;
    if (!gather("update", args, nargs, kwnames, names, 1, 1, &chunk)) return NULL;
    if (digester_claim(self) < 0 || get_bytes(chunk, &view) < 0) return NULL;
    if (view.len >= GIL_RELEASE_SIZE) {
        /* The export keeps the buffer alive and unresizable; ``busy`` keeps other threads off
         * this context until the hashing is done. */
        self->busy = 1;
        Py_BEGIN_ALLOW_THREADS
        SHA256_Update(&self->inner, view.buf, (size_t)view.len);
        Py_END_ALLOW_THREADS
        self->busy = 0;
    }
    else if (view.len > 0) {
        SHA256_Update(&self->inner, view.buf, (size_t)view.len);
    }
    PyBuffer_Release(&view);
    Py_RETURN_NONE;
}

static PyObject *
digester_matches(DigesterObject *self, PyObject *const *args, Py_ssize_t nargs,
                 PyObject *kwnames)
{
    static const char *const names[] = {"hmac_sigs", "ed25519_sigs"};
    PyObject *given[2];
    unsigned char expected[DIGEST_SIZE];
    SHA256_CTX inner;
    int found;
    if (!gather("matches", args, nargs, kwnames, names, 1, 2, given)) return NULL;
    if (digester_claim(self) < 0) return NULL;
    inner = self->inner; /* the digester stays usable: matches() may be asked again */
    hmac_finish(&inner, &self->outer, expected);
    found = matches_presented(expected, given[0]);
    OPENSSL_cleanse(expected, sizeof expected);
    if (found < 0) return NULL;
    return PyBool_FromLong(found);
}

static PyObject *
refuse_pickle(PyObject *self, PyObject *unused)
{
    PyErr_Format(PyExc_TypeError, "%.100s holds secret key material and cannot be pickled",
                 Py_TYPE(self)->tp_name);
    return NULL;
}

static PyMethodDef digester_methods[] = {
    {"update", (PyCFunction)(void (*)(void))digester_update, METH_FASTCALL | METH_KEYWORDS,
     "update(chunk): hash the next chunk of the body."},
    {"matches", (PyCFunction)(void (*)(void))digester_matches, METH_FASTCALL | METH_KEYWORDS,
     "matches(hmac_sigs, ed25519_sigs=()): whether the HMAC so far equals one of hmac_sigs."},
    {"__reduce__", refuse_pickle, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject DigesterType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hookseal._speedups.Digester",
    .tp_basicsize = sizeof(DigesterObject),
    .tp_dealloc = (destructor)digester_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The HMAC-SHA256 of one secret over a body that arrives in chunks.",
    .tp_methods = digester_methods,
};

/* -- HmacKey: one secret's pre-keyed states -------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    Keyed keyed;
} HmacKeyObject;

static PyTypeObject HmacKeyType;

static PyObject *
hmackey_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *key;
    Py_buffer view;
    HmacKeyObject *self;
    static char *keywords[] = {"key", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O:HmacKey", keywords, &key)) return NULL;
    if (get_bytes(key, &view) < 0) return NULL;
    self = (HmacKeyObject *)type->tp_alloc(type, 0);
    if (self != NULL) keyed_init(&self->keyed, view.buf, (size_t)view.len);
    PyBuffer_Release(&view);
    return (PyObject *)self;
}

static void
hmackey_dealloc(HmacKeyObject *self)
{
    OPENSSL_cleanse(&self->keyed, sizeof self->keyed);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* HMAC of prefix + body into ``out``; -1 with an error if either is not bytes-like. */
static int
hmackey_digest_into(HmacKeyObject *self, PyObject *prefix, PyObject *body, unsigned char *out)
{
    Py_buffer head, view;
    if (get_bytes(prefix, &head) < 0) return -1;
    if (get_bytes(body, &view) < 0) {
        PyBuffer_Release(&head);
        return -1;
    }
    if (view.len >= GIL_RELEASE_SIZE) {
        Keyed keyed = self->keyed; /* a private copy: nothing shared while the GIL is free */
        Py_BEGIN_ALLOW_THREADS
        hmac_compute(&keyed, head.buf, (size_t)head.len, view.buf, (size_t)view.len, out);
        OPENSSL_cleanse(&keyed, sizeof keyed);
        Py_END_ALLOW_THREADS
    }
    else {
        hmac_compute(&self->keyed, head.buf, (size_t)head.len, view.buf, (size_t)view.len, out);
    }
    PyBuffer_Release(&view);
    PyBuffer_Release(&head);
    return 0;
}

static PyObject *
hmackey_digest(HmacKeyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"prefix", "body"};
    PyObject *given[2];
    unsigned char out[DIGEST_SIZE];
    if (!gather("digest", args, nargs, kwnames, names, 2, 2, given)) return NULL;
    if (hmackey_digest_into(self, given[0], given[1], out) < 0) return NULL;
    return PyBytes_FromStringAndSize((const char *)out, DIGEST_SIZE);
}

static PyObject *
hmackey_matches(HmacKeyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"prefix", "body", "hmac_sigs", "ed25519_sigs"};
    PyObject *given[4];
    unsigned char expected[DIGEST_SIZE];
    int found;
    if (!gather("matches", args, nargs, kwnames, names, 3, 4, given)) return NULL;
    found = PyObject_IsTrue(given[2]); /* HmacMaterial.matches: no signatures, no hashing */
    if (found <= 0) return found < 0 ? NULL : Py_NewRef(Py_False);
    if (hmackey_digest_into(self, given[0], given[1], expected) < 0) return NULL;
    found = matches_presented(expected, given[2]);
    OPENSSL_cleanse(expected, sizeof expected);
    if (found < 0) return NULL;
    return PyBool_FromLong(found);
}

static PyObject *
hmackey_start(HmacKeyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"prefix"};
    PyObject *prefix;
    Py_buffer head;
    DigesterObject *digester;
    if (!gather("start", args, nargs, kwnames, names, 1, 1, &prefix)) return NULL;
    if (get_bytes(prefix, &head) < 0) return NULL;
    digester = PyObject_New(DigesterObject, &DigesterType);
    if (digester != NULL) {
        digester->inner = self->keyed.inner;
        digester->outer = self->keyed.outer;
        digester->busy = 0;
        if (head.len > 0) SHA256_Update(&digester->inner, head.buf, (size_t)head.len);
    }
    PyBuffer_Release(&head);
    return (PyObject *)digester;
}

static PyMethodDef hmackey_methods[] = {
    {"digest", (PyCFunction)(void (*)(void))hmackey_digest, METH_FASTCALL | METH_KEYWORDS,
     "digest(prefix, body): the HMAC-SHA256 of prefix + body."},
    {"matches", (PyCFunction)(void (*)(void))hmackey_matches, METH_FASTCALL | METH_KEYWORDS,
     "matches(prefix, body, hmac_sigs, ed25519_sigs=()): HmacMaterial.matches."},
    {"start", (PyCFunction)(void (*)(void))hmackey_start, METH_FASTCALL | METH_KEYWORDS,
     "start(prefix): a Digester for a body that arrives in chunks."},
    {"__reduce__", refuse_pickle, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject HmacKeyType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hookseal._speedups.HmacKey",
    .tp_basicsize = sizeof(HmacKeyObject),
    .tp_dealloc = (destructor)hmackey_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "HmacKey(key): HMAC-SHA256 states keyed once (the key is not kept).",
    .tp_methods = hmackey_methods,
    .tp_new = hmackey_new,
};

/* -- parsing the Signature header ------------------------------------------------------------ */

static signed char hex_value[256];
static signed char base64_value[256];

static void
tables_init(void)
{
    const char *alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    memset(hex_value, -1, sizeof hex_value);
    memset(base64_value, -1, sizeof base64_value);
    for (int i = 0; i < 10; i++) hex_value['0' + i] = (signed char)i;
    for (int i = 0; i < 6; i++) {
        hex_value['a' + i] = (signed char)(10 + i);
        hex_value['A' + i] = (signed char)(10 + i);
    }
    for (int i = 0; i < 64; i++) base64_value[(unsigned char)alphabet[i]] = (signed char)i;
}

static unsigned char
ascii_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* bytes.fromhex of exactly 64 hex digits; 0 for anything else. */
static int
decode_hex(const unsigned char *text, Py_ssize_t size, unsigned char *out)
{
    if (size != 2 * DIGEST_SIZE) return 0;
    for (int i = 0; i < DIGEST_SIZE; i++) {
        int high = hex_value[text[2 * i]], low = hex_value[text[2 * i + 1]];
        if (high < 0 || low < 0) return 0;
        out[i] = (unsigned char)(high << 4 | low);
    }
    return 1;
}

/* Strict base64 of 32 bytes: 43 alphabet characters and one '=' (the only spelling that
 * binascii.a2b_base64(strict_mode=True) and b64decode(validate=True) turn into 32 bytes; like
 * them, the two unused low bits of the last character are ignored). 0 for anything else. */
static int
decode_base64(const unsigned char *text, Py_ssize_t size, unsigned char *out)
{
    int values[43];
    if (size != 44 || text[43] != '=') return 0;
    for (int i = 0; i < 43; i++) {
        values[i] = base64_value[text[i]];
        if (values[i] < 0) return 0;
    }
    for (int group = 0; group < 10; group++) {
        const int *v = values + 4 * group;
        unsigned long bits = (unsigned long)v[0] << 18 | (unsigned long)v[1] << 12 |
                             (unsigned long)v[2] << 6 | (unsigned long)v[3];
        out[3 * group] = (unsigned char)(bits >> 16);
        out[3 * group + 1] = (unsigned char)(bits >> 8);
        out[3 * group + 2] = (unsigned char)bits;
    }
    {
        unsigned long bits = (unsigned long)values[40] << 18 | (unsigned long)values[41] << 12 |
                             (unsigned long)values[42] << 6;
        out[30] = (unsigned char)(bits >> 16);
        out[31] = (unsigned char)(bits >> 8);
    }
    return 1;
}

typedef struct {
    PyObject_HEAD
    PyObject *spelling;  /* str: the header as usually written, the key of a plain dict */
    PyObject *lower;     /* str: in lower case (the same object when the spelling is) */
    PyObject *name;      /* bytes: in lower case, for ASGI's pair list */
    PyObject *prefix;    /* bytes: the optional prefix in lower case, maybe empty */
    int encoding;
    int require_prefix;
    PyObject *scheme;    /* what the verifier must still hold for this plan to apply */
    PyObject *provider;
    PyObject *secrets;   /* tuple of Secret: the verifier's fixed candidates, in order */
    PyObject *keys;      /* tuple of HmacKey, one per secret */
    PyObject *results;   /* tuple of Verified, one per secret (immutable, so shared) */
    /* Where the verifier's type keeps the attributes read per call (its __slots__), to read
     * them as the member descriptors would, while the type is unchanged (its version tag). */
    PyTypeObject *verifier_type;
    unsigned int verifier_version;
    Py_ssize_t offsets[ATTR_COUNT];
} PlanObject;

static PyTypeObject PlanType;

/* Signature.parse on a header value: the presented digests into ``out``, their number, or 0
 * when the Python path must decide (it raises the right error, or reads a rare spelling). */
static int
plan_parse(PlanObject *plan, const unsigned char *value, Py_ssize_t size, Digest *out)
{
    const unsigned char *prefix = (const unsigned char *)PyBytes_AS_STRING(plan->prefix);
    Py_ssize_t prefix_size = PyBytes_GET_SIZE(plan->prefix), i = 0;
    int count = 0;

    if (size > MAX_HEADER_LENGTH) return 0;
    while (size > 0 && (value[0] == ' ' || value[0] == '\t')) value++, size--;
    while (size > 0 && (value[size - 1] == ' ' || value[size - 1] == '\t')) size--;
    if (size == 0) return 0; /* MissingSignature */
    if (size == 2 * DIGEST_SIZE && plan->encoding != ENCODING_BASE64 && !plan->require_prefix) {
        return decode_hex(value, size, out[0]); /* one bare hex digest: the usual case */
    }
    while (i < size) {
        const unsigned char *token;
        Py_ssize_t length;
        int encoding = plan->encoding;
        unsigned char c = value[i];
        if (c == ' ' || c == ',' || c == '\t') {
            i++;
            continue;
        }
        if (c < 0x21 || c > 0x7e) return 0; /* other whitespace splits too: the rare path */
        token = value + i;
        while (i < size && value[i] > 0x20 && value[i] < 0x7f && value[i] != ',') i++;
        length = value + i - token;
        if (count == MAX_SIGNATURES) return 0; /* too many: MalformedSignature */
        if (prefix_size > 0 && length >= prefix_size) {
            Py_ssize_t k = 0;
            while (k < prefix_size && ascii_lower(token[k]) == prefix[k]) k++;
            if (k == prefix_size) {
                token += prefix_size;
                length -= prefix_size;
            }
            else if (plan->require_prefix) {
                return 0;
            }
        }
        else if (plan->require_prefix) {
            return 0;
        }
        if (encoding == ENCODING_AUTO) {
            encoding = length == 2 * DIGEST_SIZE ? ENCODING_HEX : ENCODING_BASE64;
        }
        if (encoding == ENCODING_HEX ? !decode_hex(token, length, out[count])
                                     : !decode_base64(token, length, out[count])) {
            return 0;
        }
        count++;
    }
    return count;
}

/* The ASCII characters of a header value (str or bytes, exact types), or NULL. */
static const unsigned char *
header_chars(PyObject *value, Py_ssize_t *size)
{
    /* Longer values are refused by the Python path: never scanned here. */
    if (PyUnicode_CheckExact(value)) {
        if (PyUnicode_GET_LENGTH(value) > MAX_HEADER_LENGTH || !is_ascii_str(value)) return NULL;
        *size = PyUnicode_GET_LENGTH(value);
        return (const unsigned char *)PyUnicode_DATA(value);
    }
    if (PyBytes_CheckExact(value)) {
        const unsigned char *chars = (const unsigned char *)PyBytes_AS_STRING(value);
        Py_ssize_t n = PyBytes_GET_SIZE(value);
        if (n > MAX_HEADER_LENGTH) return NULL;
        for (Py_ssize_t i = 0; i < n; i++) {
            if (chars[i] >= 0x80) return NULL;
        }
        *size = n;
        return chars;
    }
    return NULL;
}

/* Clear an error raised by user code the Python path will run again (and raise again), but
 * never an interruption (KeyboardInterrupt, SystemExit): 0 then, with it still set. */
static int
clear_for_python_path(void)
{
    if (!PyErr_ExceptionMatches(PyExc_Exception)) return 0;
    PyErr_Clear();
    return 1;
}

/* isinstance(headers, Mapping): 1, 0, or -1 with an interruption set. */
static int
is_mapping(PyObject *headers)
{
    int found;
    if (Py_TYPE(headers) == mapping_seen) return 1;
    found = PyObject_IsInstance(headers, mapping_abc); /* may run __subclasshook__ */
    if (found < 0) return clear_for_python_path() ? 0 : -1;
    if (found) {
        PyTypeObject *old = mapping_seen;
        Py_INCREF(Py_TYPE(headers));
        mapping_seen = Py_TYPE(headers);
        Py_XDECREF(old);
    }
    return found;
}

/* The value of the plan's header (a new reference), or NULL when the Python path must read
 * it (absent, repeated in a pair list, not exact str/bytes...) or, with an error set, when a
 * mapping's code was interrupted. */
static PyObject *
plan_header(PlanObject *plan, PyObject *headers)
{
    PyObject *value = NULL;
    int mapping;
    if (PyDict_CheckExact(headers)) {
        /* read_header's order: the usual spelling, then the lower-case name (the rest of a
         * case-blind search is the Python path's). */
        value = PyDict_GetItemWithError(headers, plan->spelling);
        if (value == NULL && !PyErr_Occurred() && plan->lower != plan->spelling) {
            value = PyDict_GetItemWithError(headers, plan->lower);
        }
        if (value == NULL) {
            if (PyErr_Occurred()) clear_for_python_path(); /* a key's __eq__ raised */
            return NULL;
        }
        Py_INCREF(value);
    }
    else if (PyList_CheckExact(headers)) {
        /* ASGI's raw headers. No Python code runs in this loop, so the list cannot change. */
        const char *name = PyBytes_AS_STRING(plan->name);
        Py_ssize_t name_size = PyBytes_GET_SIZE(plan->name);
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(headers); i++) {
            PyObject *pair = PyList_GET_ITEM(headers, i), *key;
            if (!PyTuple_CheckExact(pair) || PyTuple_GET_SIZE(pair) != 2) return NULL;
            key = PyTuple_GET_ITEM(pair, 0);
            if (!PyBytes_CheckExact(key)) return NULL;
            if (PyBytes_GET_SIZE(key) == name_size) {
                const unsigned char *chars = (const unsigned char *)PyBytes_AS_STRING(key);
                Py_ssize_t k = 0;
                while (k < name_size && ascii_lower(chars[k]) == (unsigned char)name[k]) k++;
                if (k == name_size) {
                    if (value != NULL) return NULL; /* twice: MalformedHeader */
                    value = PyTuple_GET_ITEM(pair, 1);
                }
            }
        }
        Py_XINCREF(value);
    }
    else if ((mapping = is_mapping(headers)) != 0) {
        if (mapping < 0) return NULL;
        value = PyObject_CallMethodOneArg(headers, str_get, plan->spelling);
        if (value == Py_None && plan->lower != plan->spelling) {
            Py_DECREF(value);
            value = PyObject_CallMethodOneArg(headers, str_get, plan->lower);
        }
        if (value == NULL) {
            clear_for_python_path();
            return NULL;
        }
    }
    if (value != NULL && !PyUnicode_CheckExact(value) && !PyBytes_CheckExact(value)) {
        Py_CLEAR(value);
    }
    return value;
}

/* plan_parse on a str or bytes header value; 0 for the Python path. */
static int
plan_parse_object(PlanObject *plan, PyObject *value, Digest *out)
{
    Py_ssize_t size;
    const unsigned char *chars = header_chars(value, &size);
    int count = 0;
    if (chars == NULL) return 0;
#ifdef HOOKSEAL_FUZZ
    {
        /* The AddressSanitizer build parses an exactly sized copy, so that a read one byte past
         * the value (in a str or bytes object, its trailing NUL) is caught too. */
        unsigned char *copy = malloc(size ? (size_t)size : 1);
        if (copy != NULL) {
            memcpy(copy, chars, (size_t)size);
            count = plan_parse(plan, copy, size, out);
            free(copy);
        }
    }
#else
    count = plan_parse(plan, chars, size, out);
#endif
    return count;
}

/* Digests presented in ``headers`` into ``out``: their number, 0 for the Python path, or -1
 * with an error set (an interruption). */
static int
plan_presented(PlanObject *plan, PyObject *headers, Digest *out)
{
    PyObject *value = plan_header(plan, headers);
    int count;
    if (value == NULL) return PyErr_Occurred() ? -1 : 0;
    count = plan_parse_object(plan, value, out);
    Py_DECREF(value);
    return count;
}

/* Whether the slot offsets recorded for the plan still describe ``verifier``'s type. */
static int
slots_valid(PlanObject *plan, PyObject *verifier)
{
    PyTypeObject *type = plan->verifier_type;
    if (type == NULL || Py_TYPE(verifier) != type || plan->verifier_version == 0) return 0;
#if PY_VERSION_HEX < 0x030C0000
    /* Before 3.12 a change may leave the tag and clear only this flag; later the flag is
     * unused and a change zeroes the tag (a later lookup assigns a new one, never reused). */
    if (!PyType_HasFeature(type, Py_TPFLAGS_VALID_VERSION_TAG)) return 0;
#endif
    return type->tp_version_tag == plan->verifier_version;
}

/* verifier.<attribute> as a new reference, or NULL (no error left set) if it has none. */
static PyObject *
read_attribute(PlanObject *plan, PyObject *verifier, int fast, int attribute)
{
    PyObject *value;
    if (fast) {
        value = *(PyObject **)((char *)verifier + plan->offsets[attribute]);
        Py_XINCREF(value);
        return value;
    }
    value = PyObject_GetAttr(verifier, attribute_strs[attribute]);
    if (value == NULL) PyErr_Clear();
    return value;
}

/* verifier.<attribute> is ``expected``. */
static int
attribute_is(PlanObject *plan, PyObject *verifier, int fast, int attribute, PyObject *expected)
{
    PyObject *value = read_attribute(plan, verifier, fast, attribute);
    Py_XDECREF(value);
    return value != NULL && value == expected;
}

/* The body's bytes in ``view``; 0 when the Python path must judge the body. */
static int
plan_body(PlanObject *plan, PyObject *verifier, int fast, PyObject *body, Py_buffer *view)
{
    PyObject *limit;
    int fits = 1;
    if (PyBytes_CheckExact(body)) {
        /* Immutable: read in place, no export needed (the caller holds a reference). */
        view->obj = NULL;
        view->buf = PyBytes_AS_STRING(body);
        view->len = PyBytes_GET_SIZE(body);
    }
    else if (PyBytes_Check(body) || PyByteArray_Check(body) || PyMemoryView_Check(body)) {
        /* PyBUF_SIMPLE refuses a non-contiguous view: the Python path explains why. */
        if (PyObject_GetBuffer(body, view, PyBUF_SIMPLE) < 0) {
            PyErr_Clear();
            return 0;
        }
    }
    else {
        return 0;
    }
    limit = read_attribute(plan, verifier, fast, ATTR_MAX_BODY_SIZE);
    if (limit == NULL) {
        fits = 0;
    }
    else if (limit != Py_None) {
        int overflow = 0;
        long long most = PyLong_CheckExact(limit) ? PyLong_AsLongLongAndOverflow(limit, &overflow)
                                                  : -1;
        if (most == -1 && PyErr_Occurred()) PyErr_Clear();
        fits = overflow > 0 || (overflow == 0 && most >= 0 && view->len <= most);
    }
    Py_XDECREF(limit);
    if (!fits) {
        if (view->obj != NULL) PyBuffer_Release(view);
        return 0;
    }
    return 1;
}

/* plan.check(verifier, body, headers): Verifier.verify for the default scheme, or None. */
static PyObject *
plan_check(PlanObject *plan, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *verifier, *body, *headers, *preferred, *result = NULL;
    Digest presented[MAX_SIGNATURES];
    unsigned char expected[DIGEST_SIZE];
    Py_buffer view;
    Py_ssize_t count = PyTuple_GET_SIZE(plan->secrets), first = -1, found = -1;
    int signatures, fast;

    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "check() takes exactly 3 arguments");
        return NULL;
    }
    verifier = args[0], body = args[1], headers = args[2];
    fast = slots_valid(plan, verifier);
    if (!attribute_is(plan, verifier, fast, ATTR_REPLAY_GUARD, Py_None) ||
        !attribute_is(plan, verifier, fast, ATTR_SCHEME, plan->scheme) ||
        !attribute_is(plan, verifier, fast, ATTR_PROVIDER, plan->provider) ||
        !attribute_is(plan, verifier, fast, ATTR_FIXED, plan->secrets)) {
        Py_RETURN_NONE;
    }
    signatures = plan_presented(plan, headers, presented);
    if (signatures < 0) return NULL;
    if (signatures == 0) Py_RETURN_NONE;
    /* A mapping's get() may have run any code: the type may have changed meanwhile. */
    fast = fast && slots_valid(plan, verifier);
    preferred = read_attribute(plan, verifier, fast, ATTR_PREFERRED);
    if (preferred == NULL) Py_RETURN_NONE;
    if (preferred != Py_None) {
        for (Py_ssize_t i = 0; i < count; i++) {
            if (PyTuple_GET_ITEM(plan->secrets, i) == preferred) first = i;
        }
    }
    Py_DECREF(preferred); /* compared by identity only; the verifier keeps it alive */
    if (preferred != Py_None && first < 0) Py_RETURN_NONE;
    if (!plan_body(plan, verifier, fast, body, &view)) Py_RETURN_NONE;

    /* The preferred secret first, then the others in order: Verifier._find's order, so the
     * same secret is reported when several match. */
    {
        int release = view.len >= GIL_RELEASE_SIZE;
        PyThreadState *state = release ? PyEval_SaveThread() : NULL;
        for (Py_ssize_t step = -1; step < count && found < 0; step++) {
            Py_ssize_t index = step < 0 ? first : step;
            HmacKeyObject *key;
            if (index < 0 || (step >= 0 && index == first)) continue;
            key = (HmacKeyObject *)PyTuple_GET_ITEM(plan->keys, index);
            hmac_compute(&key->keyed, NULL, 0, view.buf, (size_t)view.len, expected);
            if (matches_any(expected, presented, signatures)) found = index;
        }
        if (release) PyEval_RestoreThread(state);
    }
    OPENSSL_cleanse(expected, sizeof expected);
    if (view.obj != NULL) PyBuffer_Release(&view);

    if (found >= 0) {
        if (found != first &&
            PyObject_SetAttr(verifier, attribute_strs[ATTR_PREFERRED],
                             PyTuple_GET_ITEM(plan->secrets, found)) < 0) {
            return NULL;
        }
        result = PyTuple_GET_ITEM(plan->results, found);
        return Py_NewRef(result);
    }
    /* Every candidate tried: the verifier's own SignatureMismatch (a static set never
     * refreshes, so there is nothing else to try). */
    result = PyObject_CallMethodNoArgs(verifier, str_mismatch);
    if (result != NULL) {
        PyErr_SetObject((PyObject *)Py_TYPE(result), result);
        Py_DECREF(result);
    }
    return NULL;
}

/* plan.parse(value): the digests the C parser reads from a header value, or None (tests). */
static PyObject *
plan_parse_value(PlanObject *plan, PyObject *value)
{
    Digest presented[MAX_SIGNATURES];
    int count = plan_parse_object(plan, value, presented);
    PyObject *digests;
    if (count == 0) Py_RETURN_NONE;
    digests = PyTuple_New(count);
    for (int i = 0; digests != NULL && i < count; i++) {
        PyObject *digest = PyBytes_FromStringAndSize((const char *)presented[i], DIGEST_SIZE);
        if (digest == NULL) Py_CLEAR(digests);
        else PyTuple_SET_ITEM(digests, i, digest);
    }
    return digests;
}

/* Record where ``type`` keeps each attribute, if each is a plain __slots__ member (an object
 * slot read by the generic getattr): otherwise the plan reads them with PyObject_GetAttr. */
static int
plan_find_slots(PlanObject *plan, PyObject *type_object)
{
    PyTypeObject *type = (PyTypeObject *)type_object;
    if (type->tp_getattro != PyObject_GenericGetAttr || type->tp_version_tag == 0) return 0;
    for (int i = 0; i < ATTR_COUNT; i++) {
        PyObject *descriptor = PyObject_GetAttr(type_object, attribute_strs[i]);
        PyMemberDef *member;
        if (descriptor == NULL) {
            PyErr_Clear();
            return 0;
        }
        member = Py_IS_TYPE(descriptor, &PyMemberDescr_Type)
                     ? ((PyMemberDescrObject *)descriptor)->d_member
                     : NULL;
        Py_DECREF(descriptor); /* the type keeps it */
        if (member == NULL || member->type != Py_T_OBJECT_EX || member->offset <= 0 ||
            (size_t)member->offset + sizeof(PyObject *) > (size_t)type->tp_basicsize) {
            return 0;
        }
        plan->offsets[i] = member->offset;
    }
    plan->verifier_type = (PyTypeObject *)Py_NewRef(type_object);
    plan->verifier_version = type->tp_version_tag;
    return 0;
}

static PyObject *
plan_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"spelling", "encoding", "prefix", "require_prefix", "scheme",
                               "provider", "secrets", "keys", "results", "verifier_type", NULL};
    PyObject *spelling, *prefix, *scheme, *provider, *secrets, *keys, *results, *lower;
    PyObject *verifier_type = NULL;
    int encoding, require_prefix;
    PlanObject *self;
    Py_ssize_t count;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "UiUpOOO!O!O!|O!:SignaturePlan", keywords,
                                     &spelling, &encoding, &prefix, &require_prefix, &scheme,
                                     &provider, &PyTuple_Type, &secrets, &PyTuple_Type, &keys,
                                     &PyTuple_Type, &results, &PyType_Type, &verifier_type)) {
        return NULL;
    }
    count = PyTuple_GET_SIZE(secrets);
    if (count == 0 || PyTuple_GET_SIZE(keys) != count || PyTuple_GET_SIZE(results) != count) {
        PyErr_SetString(PyExc_ValueError, "secrets, keys and results must be equal, non-empty");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        if (!Py_IS_TYPE(PyTuple_GET_ITEM(keys, i), &HmacKeyType) ||
            PyTuple_GET_ITEM(results, i) == Py_None) {
            PyErr_SetString(PyExc_TypeError, "keys must be HmacKey objects, results not None");
            return NULL;
        }
    }
    if (encoding < ENCODING_AUTO || encoding > ENCODING_BASE64) {
        PyErr_SetString(PyExc_ValueError, "encoding must be 0 (auto), 1 (hex) or 2 (base64)");
        return NULL;
    }
    if (PyUnicode_GET_LENGTH(spelling) == 0 || !is_ascii_str(spelling) || !is_ascii_str(prefix) || (require_prefix && PyUnicode_GET_LENGTH(prefix) == 0)) {
        PyErr_SetString(PyExc_ValueError, "header and prefix must be ASCII");
        return NULL;
    }
    self = (PlanObject *)type->tp_alloc(type, 0);
    if (self == NULL) return NULL;
    self->encoding = encoding;
    self->require_prefix = require_prefix;
    self->spelling = Py_NewRef(spelling);
    self->scheme = Py_NewRef(scheme);
    self->provider = Py_NewRef(provider);
    self->secrets = Py_NewRef(secrets);
    self->keys = Py_NewRef(keys);
    self->results = Py_NewRef(results);
    lower = PyObject_CallMethod(spelling, "lower", NULL);
    if (lower != NULL && PyUnicode_Compare(lower, spelling) == 0) {
        Py_DECREF(lower);
        lower = Py_NewRef(spelling);
    }
    self->lower = lower;
    self->name = lower ? PyUnicode_AsASCIIString(lower) : NULL;
    lower = PyObject_CallMethod(prefix, "lower", NULL);
    self->prefix = lower ? PyUnicode_AsASCIIString(lower) : NULL;
    Py_XDECREF(lower);
    if (self->lower == NULL || self->name == NULL || self->prefix == NULL) Py_CLEAR(self);
    if (self != NULL && verifier_type != NULL && plan_find_slots(self, verifier_type) < 0) {
        Py_CLEAR(self);
    }
    return (PyObject *)self;
}

static int
plan_traverse(PlanObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->scheme);
    Py_VISIT(self->provider);
    Py_VISIT(self->secrets);
    Py_VISIT(self->keys);
    Py_VISIT(self->results);
    Py_VISIT(self->verifier_type);
    return 0;
}

static int
plan_clear(PlanObject *self)
{
    Py_CLEAR(self->spelling);
    Py_CLEAR(self->lower);
    Py_CLEAR(self->name);
    Py_CLEAR(self->prefix);
    Py_CLEAR(self->scheme);
    Py_CLEAR(self->provider);
    Py_CLEAR(self->secrets);
    Py_CLEAR(self->keys);
    Py_CLEAR(self->results);
    Py_CLEAR(self->verifier_type);
    return 0;
}

static void
plan_dealloc(PlanObject *self)
{
    PyObject_GC_UnTrack(self);
    plan_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef plan_methods[] = {
    {"check", (PyCFunction)(void (*)(void))plan_check, METH_FASTCALL,
     "check(verifier, body, headers): Verified, SignatureMismatch raised, or None for the "
     "Python path."},
    {"parse", (PyCFunction)plan_parse_value, METH_O,
     "parse(value): the digests read from a header value, or None for the Python path."},
    {"__reduce__", refuse_pickle, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyObject *
plan_reads_slots(PlanObject *plan, void *unused)
{
    return PyBool_FromLong(plan->verifier_type != NULL);
}

static PyGetSetDef plan_getset[] = {
    {"reads_slots", (getter)plan_reads_slots, NULL,
     "Whether the verifier's attributes are read from its __slots__ directly.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject PlanType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hookseal._speedups.SignaturePlan",
    .tp_basicsize = sizeof(PlanObject),
    .tp_dealloc = (destructor)plan_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The default scheme's whole check for one verifier's fixed secrets.",
    .tp_traverse = (traverseproc)plan_traverse,
    .tp_clear = (inquiry)plan_clear,
    .tp_methods = plan_methods,
    .tp_getset = plan_getset,
    .tp_new = plan_new,
};

/* -- the module ------------------------------------------------------------------------------ */

static PyObject *
openssl_version(PyObject *module, PyObject *unused)
{
    return PyUnicode_FromString(OpenSSL_version(OPENSSL_VERSION));
}

static PyMethodDef module_methods[] = {
    {"openssl_version", openssl_version, METH_NOARGS, "The libcrypto in use."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "hookseal._speedups",
    .m_doc = "The optional C accelerator of hookseal (HMAC-SHA256 via OpenSSL's libcrypto).",
    .m_size = -1,
    .m_methods = module_methods,
};

static int
intern(PyObject **target, const char *text)
{
    *target = PyUnicode_InternFromString(text);
    return *target == NULL ? -1 : 0;
}

PyMODINIT_FUNC
PyInit__speedups(void)
{
    PyObject *module, *abc;
    tables_init();
    for (int i = 0; i < ATTR_COUNT; i++) {
        if (intern(&attribute_strs[i], attribute_names[i]) < 0) return NULL;
    }
    if (intern(&str_mismatch, "_mismatch") < 0 || intern(&str_get, "get") < 0) return NULL;
    abc = PyImport_ImportModule("collections.abc");
    if (abc == NULL) return NULL;
    mapping_abc = PyObject_GetAttrString(abc, "Mapping");
    Py_DECREF(abc);
    if (mapping_abc == NULL) return NULL;
    if (PyType_Ready(&DigesterType) < 0 || PyType_Ready(&HmacKeyType) < 0 ||
        PyType_Ready(&PlanType) < 0) {
        return NULL;
    }
    module = PyModule_Create(&speedups_module);
    if (module == NULL) return NULL;
    if (PyModule_AddIntConstant(module, "ABI", ABI_VERSION) < 0 ||
        PyModule_AddIntConstant(module, "MAX_SIGNATURES", MAX_SIGNATURES) < 0 ||
        PyModule_AddIntConstant(module, "MAX_HEADER_LENGTH", MAX_HEADER_LENGTH) < 0 ||
        PyModule_AddIntConstant(module, "GIL_RELEASE_SIZE", GIL_RELEASE_SIZE) < 0 ||
        PyModule_AddObjectRef(module, "HmacKey", (PyObject *)&HmacKeyType) < 0 ||
        PyModule_AddObjectRef(module, "Digester", (PyObject *)&DigesterType) < 0 ||
        PyModule_AddObjectRef(module, "SignaturePlan", (PyObject *)&PlanType) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
