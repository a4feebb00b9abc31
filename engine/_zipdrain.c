/*
 * engine._zipdrain: the bundle export's fast path, librdkafka messages straight into a zip.
 *
 * confluent-kafka makes a Python Message object (and copies the value into a bytes
 * object) for every record: for a million reports that alone costs more than kcat takes
 * for the whole read. This module owns a second librdkafka consumer, the very library
 * confluent-kafka loaded (the caller passes its path; dlopen returns the same copy), and
 * turns each fetched message into a stored zip entry without touching Python: the local
 * header and the value go to the zip with writev straight from librdkafka's buffer, the
 * central directory record to a spill file, all with the GIL released.
 *
 * The entry bytes are exactly those engine/zip_stream.py writes (tests compare the two
 * paths byte for byte); engine/zip_drain.py decides when this path is used.
 *
 * Only librdkafka's public, long-stable C ABI is used, declared below rather than taken
 * from rdkafka.h, which is not installed where confluent-kafka comes as a wheel.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

/* ------------------------------------------------------------ librdkafka's ABI (subset) */

typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_conf_s rd_kafka_conf_t;
typedef struct rd_kafka_queue_s rd_kafka_queue_t;
typedef struct rd_kafka_topic_partition_list_s rd_kafka_topic_partition_list_t;

typedef struct {
    int err;
    void *rkt;
    int32_t partition;
    void *payload;
    size_t len;
    void *key;
    size_t key_len;
    int64_t offset;
    void *_private;
} rd_kafka_message_t;

typedef struct { /* the leading fields of rd_kafka_topic_partition_t */
    char *topic;
    int32_t partition;
    int64_t offset;
} rd_kafka_topic_partition_head_t;

#define RD_KAFKA_CONSUMER 1
#define RD_KAFKA_CONF_OK 0
#define RD_KAFKA_OFFSET_BEGINNING (-2)
#define RD_KAFKA_RESP_ERR__PARTITION_EOF (-191)
#define RD_KAFKA_RESP_ERR__FATAL (-150)

static struct {
    rd_kafka_conf_t *(*conf_new)(void);
    int (*conf_set)(rd_kafka_conf_t *, const char *, const char *, char *, size_t);
    void (*conf_destroy)(rd_kafka_conf_t *);
    rd_kafka_t *(*new_)(int, rd_kafka_conf_t *, char *, size_t);
    void (*destroy)(rd_kafka_t *);
    int (*consumer_close)(rd_kafka_t *);
    int (*poll_set_consumer)(rd_kafka_t *);
    rd_kafka_topic_partition_list_t *(*list_new)(int);
    rd_kafka_topic_partition_head_t *(*list_add)(rd_kafka_topic_partition_list_t *,
                                                 const char *, int32_t);
    void (*list_destroy)(rd_kafka_topic_partition_list_t *);
    int (*assign)(rd_kafka_t *, const rd_kafka_topic_partition_list_t *);
    rd_kafka_queue_t *(*queue_get_consumer)(rd_kafka_t *);
    void (*queue_destroy)(rd_kafka_queue_t *);
    ssize_t (*consume_batch_queue)(rd_kafka_queue_t *, int, rd_kafka_message_t **, size_t);
    void (*message_destroy)(rd_kafka_message_t *);
    const char *(*err2str)(int);
} rk;

static int rk_loaded = 0;

typedef uint32_t (*crc_fn_t)(uint32_t, const unsigned char *, uint64_t);

static uint32_t zlib_crc(uint32_t crc, const unsigned char *buf, uint64_t len) {
    while (len > UINT_MAX) { /* zlib takes an unsigned int length */
        crc = (uint32_t)crc32(crc, buf, UINT_MAX);
        buf += UINT_MAX;
        len -= UINT_MAX;
    }
    return (uint32_t)crc32(crc, buf, (uInt)len);
}

/* ISA-L's crc32_gzip_refl when the caller found it (about 4x zlib's), zlib's otherwise. */
static crc_fn_t crc_fn = zlib_crc;

/* --------------------------------------------------------------------- little helpers */

/* Messages asked of librdkafka per call; also the most entries written per batch. */
#define BATCH 4096
/* Linux's IOV_MAX. */
#define IOVS 1024
/* Central records are buffered up to this size before they go to the spill file. */
#define CENTRAL_FLUSH (1 << 20)
/* Dirty bytes after which the kernel is asked to start writing the zip back. */
#define WRITEBACK_EVERY (64ULL << 20)

static inline unsigned char *put16(unsigned char *p, unsigned v) {
    p[0] = v & 0xff;
    p[1] = (v >> 8) & 0xff;
    return p + 2;
}

static inline unsigned char *put32(unsigned char *p, uint32_t v) {
    p[0] = v & 0xff;
    p[1] = (v >> 8) & 0xff;
    p[2] = (v >> 16) & 0xff;
    p[3] = (v >> 24) & 0xff;
    return p + 4;
}

static inline unsigned char *put64(unsigned char *p, uint64_t v) {
    p = put32(p, (uint32_t)v);
    return put32(p, (uint32_t)(v >> 32));
}

/* Decimal digits of v, written at p; returns their count. */
static size_t put_decimal(unsigned char *p, uint64_t v) {
    unsigned char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (unsigned char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        p[i] = tmp[n - 1 - i];
    return n;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Write every byte the iovecs hold; 0, or an errno. Advances the iovecs it consumes. */
static int write_all(int fd, struct iovec *iov, int cnt) {
    while (cnt > 0) {
        int chunk = cnt < IOVS ? cnt : IOVS;
        ssize_t n = writev(fd, iov, chunk);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        while (chunk > 0 && (size_t)n >= iov->iov_len) {
            n -= (ssize_t)iov->iov_len;
            iov++;
            cnt--;
            chunk--;
        }
        if (chunk > 0 && n > 0) {
            iov->iov_base = (char *)iov->iov_base + n;
            iov->iov_len -= (size_t)n;
        }
    }
    return 0;
}

static int write_buf(int fd, const unsigned char *buf, size_t len) {
    struct iovec iov = {(void *)buf, len};
    return len ? write_all(fd, &iov, 1) : 0;
}

/* ------------------------------------------------------------------------ the consumer */

typedef struct {
    PyObject_HEAD
    rd_kafka_t *rk;
    rd_kafka_queue_t *queue;
    int32_t partition;  /* the assigned partition, -1 when none */
    int64_t start;      /* its first wanted offset */
    int busy;           /* a fill() runs without the GIL */
} Drain;

static PyObject *FatalError;

static int Drain_init(Drain *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"config", NULL};
    PyObject *config;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!", kwlist, &PyDict_Type, &config))
        return -1;
    if (!rk_loaded) {
        PyErr_SetString(PyExc_RuntimeError, "call engine._zipdrain.load() first");
        return -1;
    }
    if (self->rk) {
        PyErr_SetString(PyExc_RuntimeError, "Drain is already initialised");
        return -1;
    }
    char errstr[512];
    rd_kafka_conf_t *conf = rk.conf_new();
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(config, &pos, &key, &value)) {
        const char *k = PyUnicode_AsUTF8(key);
        const char *v = k ? PyUnicode_AsUTF8(value) : NULL;
        if (!v) {
            rk.conf_destroy(conf);
            if (!PyErr_Occurred() || PyErr_ExceptionMatches(PyExc_TypeError)) {
                PyErr_Clear();
                PyErr_SetString(PyExc_TypeError, "config keys and values must be str");
            }
            return -1;
        }
        if (rk.conf_set(conf, k, v, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
            rk.conf_destroy(conf);
            PyErr_SetString(PyExc_ValueError, errstr);
            return -1;
        }
    }
    rd_kafka_t *handle = rk.new_(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!handle) {
        rk.conf_destroy(conf);
        PyErr_SetString(PyExc_ValueError, errstr);
        return -1;
    }
    rk.poll_set_consumer(handle);
    self->rk = handle;
    self->queue = rk.queue_get_consumer(handle);
    self->partition = -1;
    return 0;
}

static int check_usable(Drain *self) {
    if (!self->rk) {
        PyErr_SetString(PyExc_RuntimeError, "Drain is closed");
        return -1;
    }
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "Drain is in use by another thread");
        return -1;
    }
    return 0;
}

static PyObject *Drain_assign(Drain *self, PyObject *args) {
    const char *topic;
    int partition;
    long long start;
    if (!PyArg_ParseTuple(args, "siL", &topic, &partition, &start) || check_usable(self))
        return NULL;
    rd_kafka_topic_partition_list_t *list = rk.list_new(1);
    rk.list_add(list, topic, partition)->offset = start > 0 ? start : RD_KAFKA_OFFSET_BEGINNING;
    int err;
    Py_BEGIN_ALLOW_THREADS
    err = rk.assign(self->rk, list);
    Py_END_ALLOW_THREADS
    rk.list_destroy(list);
    if (err) {
        PyErr_SetString(FatalError, rk.err2str(err));
        return NULL;
    }
    self->partition = partition;
    self->start = start;
    Py_RETURN_NONE;
}

static PyObject *Drain_unassign(Drain *self, PyObject *unused) {
    (void)unused;
    if (!self->rk) /* closed: nothing is assigned any more */
        Py_RETURN_NONE;
    if (check_usable(self))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    rk.assign(self->rk, NULL);
    Py_END_ALLOW_THREADS
    self->partition = -1;
    Py_RETURN_NONE;
}

/* What one fill() did; filled without the GIL. */
typedef struct {
    /* in */
    int zip_fd, spill_fd;
    const unsigned char *prefix;
    size_t prefix_len;
    uint64_t index;      /* the next entry's number */
    uint64_t pos;        /* where the next local header starts */
    int64_t last;        /* the last wanted offset */
    unsigned flags, dostime, dosdate;
    double max_ms;
    /* out */
    uint64_t added, central_bytes, received;
    int finished;
    int write_errno;
    int kafka_err;
    char kafka_msg[512];
} FillState;

/* The fields both headers share, from the flags to the name's length: stored (method 0),
 * sizes equal, no data descriptor. */
static unsigned char *put_shared(unsigned char *p, const FillState *st, uint32_t crc,
                                 uint32_t size, size_t name_len) {
    p = put16(p, st->flags);
    p = put16(p, 0);
    p = put16(p, st->dostime);
    p = put16(p, st->dosdate);
    p = put32(p, crc);
    p = put32(p, size);
    p = put32(p, size);
    return put16(p, (unsigned)name_len);
}

/* Append one entry's local header to `head` and central record to `central`. */
static void entry_headers(FillState *st, const rd_kafka_message_t *m, uint32_t crc,
                          unsigned char **head, unsigned char **central) {
    uint32_t size = (uint32_t)m->len;
    unsigned char name[4096 + 20];
    size_t name_len = st->prefix_len;
    memcpy(name, st->prefix, st->prefix_len);
    name_len += put_decimal(name + name_len, st->index);

    unsigned char *p = *head;
    p = put32(p, 0x04034B50);
    p = put16(p, 20);
    p = put_shared(p, st, crc, size, name_len);
    p = put16(p, 0);
    memcpy(p, name, name_len);
    *head = p + name_len;

    /* Past 4 GiB the header's offset moves into a ZIP64 extra field (version 4.5). */
    int zip64 = st->pos >= 0xFFFFFFFFULL;
    unsigned needed = zip64 ? 45 : 20;
    p = *central;
    p = put32(p, 0x02014B50);
    p = put16(p, (3 << 8) | needed);
    p = put16(p, needed);
    p = put_shared(p, st, crc, size, name_len);
    p = put16(p, zip64 ? 12 : 0);
    p = put16(p, 0);
    p = put16(p, 0);
    p = put16(p, 0);
    p = put32(p, 0100644u << 16);
    p = put32(p, zip64 ? 0xFFFFFFFFu : (uint32_t)st->pos);
    memcpy(p, name, name_len);
    p += name_len;
    if (zip64) {
        p = put16(p, 1);
        p = put16(p, 8);
        p = put64(p, st->pos);
    }
    *central = p;
}

/* The loop of fill(), without the GIL: consume, build, write, until the partition's end
 * or the time budget. */
static void fill_nogil(Drain *self, FillState *st, rd_kafka_message_t **msgs,
                       unsigned char *heads, struct iovec *iov, unsigned char *central) {
    double until = now_ms() + st->max_ms;
    unsigned char *central_end = central;
    while (!st->finished && !st->write_errno && !st->kafka_err) {
        double left = until - now_ms();
        if (left < 0)
            break;
        ssize_t got = rk.consume_batch_queue(self->queue, (int)left, msgs, BATCH);
        if (got <= 0)
            break;
        st->received += (uint64_t)got;
        uint64_t batch_start = st->pos;
        unsigned char *head = heads;
        int niov = 0;
        ssize_t i;
        for (i = 0; i < got && !st->finished; i++) {
            rd_kafka_message_t *m = msgs[i];
            if (m->err) {
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                    if (m->partition == self->partition)
                        st->finished = 1;
                } else if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
                    st->kafka_err = m->err;
                    const char *text = m->payload ? (const char *)m->payload
                                                  : rk.err2str(m->err);
                    size_t n = m->payload ? m->len : strlen(text);
                    if (n >= sizeof st->kafka_msg)
                        n = sizeof st->kafka_msg - 1;
                    memcpy(st->kafka_msg, text, n);
                    st->kafka_msg[n] = 0;
                    break;
                }
                /* Transient (a broker restarting, a leader moving): librdkafka retries. */
                continue;
            }
            /* Left over from an earlier assignment, or before the range. */
            if (m->partition != self->partition || m->offset < self->start)
                continue;
            if (m->offset > st->last) {
                st->finished = 1;
                break;
            }
            const unsigned char *value = m->payload ? m->payload : (const unsigned char *)"";
            uint32_t crc = crc_fn(0, value, m->len);
            unsigned char *h = head;
            entry_headers(st, m, crc, &head, &central_end);
            iov[niov].iov_base = h;
            iov[niov].iov_len = (size_t)(head - h);
            niov++;
            if (m->len) {
                iov[niov].iov_base = m->payload;
                iov[niov].iov_len = m->len;
                niov++;
            }
            st->pos += (uint64_t)(head - h) + m->len;
            st->index++;
            st->added++;
            if (m->offset == st->last)
                st->finished = 1;
        }
        if (niov)
            st->write_errno = write_all(st->zip_fd, iov, niov);
        for (ssize_t j = 0; j < got; j++)
            rk.message_destroy(msgs[j]);
        if (!st->write_errno && (size_t)(central_end - central) >= CENTRAL_FLUSH) {
            st->write_errno = write_buf(st->spill_fd, central, (size_t)(central_end - central));
            st->central_bytes += (uint64_t)(central_end - central);
            central_end = central;
        }
        if (!st->write_errno && batch_start / WRITEBACK_EVERY != st->pos / WRITEBACK_EVERY)
            /* Have the disk start on what is dirty, without waiting: the fsync at the end
             * then waits for the last stretch only. Fails harmlessly on a non-file. */
            sync_file_range(st->zip_fd, 0, 0, SYNC_FILE_RANGE_WRITE);
    }
    if (!st->write_errno && central_end > central) {
        st->write_errno = write_buf(st->spill_fd, central, (size_t)(central_end - central));
        st->central_bytes += (uint64_t)(central_end - central);
    }
}

static PyObject *Drain_fill(Drain *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"zip_fd", "spill_fd", "prefix", "index", "pos", "stop",
                             "flags", "dostime", "dosdate", "max_seconds", NULL};
    FillState st;
    memset(&st, 0, sizeof st);
    Py_buffer prefix;
    unsigned long long index, pos;
    long long stop;
    double max_seconds;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "iiy*KKLIIId", kwlist, &st.zip_fd,
                                     &st.spill_fd, &prefix, &index, &pos, &stop, &st.flags,
                                     &st.dostime, &st.dosdate, &max_seconds))
        return NULL;
    if (check_usable(self)) {
        PyBuffer_Release(&prefix);
        return NULL;
    }
    if (self->partition < 0 || prefix.len > 4096) {
        PyBuffer_Release(&prefix);
        PyErr_SetString(PyExc_ValueError, self->partition < 0 ? "no partition assigned"
                                                               : "entry name too long");
        return NULL;
    }
    st.prefix = prefix.buf;
    st.prefix_len = (size_t)prefix.len;
    st.index = index;
    st.pos = pos;
    st.last = stop - 1;
    st.max_ms = max_seconds * 1e3;

    /* A local header is 30 bytes + name, a central record at most 58 + name. */
    size_t entry_max = 58 + (size_t)prefix.len + 20;
    rd_kafka_message_t **msgs = PyMem_RawMalloc(BATCH * sizeof *msgs);
    unsigned char *heads = PyMem_RawMalloc(BATCH * entry_max);
    struct iovec *iov = PyMem_RawMalloc(2 * BATCH * sizeof *iov);
    unsigned char *central = PyMem_RawMalloc(CENTRAL_FLUSH + BATCH * entry_max);
    if (!msgs || !heads || !iov || !central) {
        PyMem_RawFree(msgs);
        PyMem_RawFree(heads);
        PyMem_RawFree(iov);
        PyMem_RawFree(central);
        PyBuffer_Release(&prefix);
        return PyErr_NoMemory();
    }
    self->busy = 1;
    Py_BEGIN_ALLOW_THREADS
    fill_nogil(self, &st, msgs, heads, iov, central);
    Py_END_ALLOW_THREADS
    self->busy = 0;
    PyMem_RawFree(msgs);
    PyMem_RawFree(heads);
    PyMem_RawFree(iov);
    PyMem_RawFree(central);
    PyBuffer_Release(&prefix);

    if (st.write_errno) {
        errno = st.write_errno;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    if (st.kafka_err) {
        PyErr_SetString(FatalError, st.kafka_msg);
        return NULL;
    }
    return Py_BuildValue("KKKKO", st.added, st.pos, st.central_bytes, st.received,
                         st.finished ? Py_True : Py_False);
}

static void drain_close(Drain *self) {
    rd_kafka_t *handle = self->rk;
    rd_kafka_queue_t *queue = self->queue;
    self->rk = NULL;
    self->queue = NULL;
    if (!handle)
        return;
    Py_BEGIN_ALLOW_THREADS
    rk.queue_destroy(queue);
    rk.consumer_close(handle);
    rk.destroy(handle);
    Py_END_ALLOW_THREADS
}

static PyObject *Drain_close(Drain *self, PyObject *unused) {
    (void)unused;
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "Drain is in use by another thread");
        return NULL;
    }
    drain_close(self);
    Py_RETURN_NONE;
}

static void Drain_dealloc(Drain *self) {
    drain_close(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef Drain_methods[] = {
    {"assign", (PyCFunction)Drain_assign, METH_VARARGS,
     "assign(topic, partition, start): read this partition from `start` (<= 0: the "
     "beginning)."},
    {"unassign", (PyCFunction)Drain_unassign, METH_NOARGS, "Stop reading the partition."},
    {"fill", (PyCFunction)(void (*)(void))Drain_fill, METH_VARARGS | METH_KEYWORDS,
     "fill(zip_fd, spill_fd, prefix, index, pos, stop, flags, dostime, dosdate, "
     "max_seconds) -> (added, pos, central_bytes, received, finished)\n\n"
     "Write entries named prefix + n (n from `index`) for the assigned partition's records "
     "below offset `stop`, for at most `max_seconds`: local headers and values to zip_fd "
     "(at `pos`), central records to spill_fd. Raises OSError for a failed write and "
     "FatalError for a fatal Kafka error."},
    {"close", (PyCFunction)Drain_close, METH_NOARGS, "Close the consumer; safe twice."},
    {NULL}};

static PyTypeObject DrainType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "engine._zipdrain.Drain",
    .tp_basicsize = sizeof(Drain),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Drain(config): a librdkafka consumer that writes its records as zip entries.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Drain_init,
    .tp_dealloc = (destructor)Drain_dealloc,
    .tp_methods = Drain_methods,
};

/* ---------------------------------------------------------------------- module level */

static PyObject *zd_load(PyObject *mod, PyObject *args) {
    const char *path;
    unsigned long long crc_address = 0;
    PyObject *fatal = NULL;
    if (!PyArg_ParseTuple(args, "s|KO", &path, &crc_address, &fatal))
        return NULL;
    if (fatal && !(PyType_Check(fatal) &&
                   PyType_IsSubtype((PyTypeObject *)fatal, (PyTypeObject *)PyExc_Exception))) {
        PyErr_SetString(PyExc_TypeError, "fatal_error must be an exception class");
        return NULL;
    }
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        PyErr_Format(PyExc_OSError, "cannot load %s: %s", path, dlerror());
        return NULL;
    }
    struct {
        const char *name;
        void **slot;
    } wanted[] = {
        {"rd_kafka_conf_new", (void **)&rk.conf_new},
        {"rd_kafka_conf_set", (void **)&rk.conf_set},
        {"rd_kafka_conf_destroy", (void **)&rk.conf_destroy},
        {"rd_kafka_new", (void **)&rk.new_},
        {"rd_kafka_destroy", (void **)&rk.destroy},
        {"rd_kafka_consumer_close", (void **)&rk.consumer_close},
        {"rd_kafka_poll_set_consumer", (void **)&rk.poll_set_consumer},
        {"rd_kafka_topic_partition_list_new", (void **)&rk.list_new},
        {"rd_kafka_topic_partition_list_add", (void **)&rk.list_add},
        {"rd_kafka_topic_partition_list_destroy", (void **)&rk.list_destroy},
        {"rd_kafka_assign", (void **)&rk.assign},
        {"rd_kafka_queue_get_consumer", (void **)&rk.queue_get_consumer},
        {"rd_kafka_queue_destroy", (void **)&rk.queue_destroy},
        {"rd_kafka_consume_batch_queue", (void **)&rk.consume_batch_queue},
        {"rd_kafka_message_destroy", (void **)&rk.message_destroy},
        {"rd_kafka_err2str", (void **)&rk.err2str},
    };
    for (size_t i = 0; i < sizeof wanted / sizeof wanted[0]; i++) {
        void *sym = dlsym(lib, wanted[i].name);
        if (!sym) {
            PyErr_Format(PyExc_OSError, "%s lacks %s", path, wanted[i].name);
            return NULL;
        }
        *wanted[i].slot = sym;
    }
    crc_fn = crc_address ? (crc_fn_t)(uintptr_t)crc_address : zlib_crc;
    if (fatal) {
        Py_INCREF(fatal);
        Py_XSETREF(FatalError, fatal);
    }
    rk_loaded = 1;
    Py_RETURN_NONE;
}

static PyObject *zd_crc32(PyObject *mod, PyObject *args) {
    Py_buffer data;
    if (!PyArg_ParseTuple(args, "y*", &data))
        return NULL;
    uint32_t crc = crc_fn(0, data.buf, (uint64_t)data.len);
    PyBuffer_Release(&data);
    return PyLong_FromUnsignedLong(crc);
}

static PyMethodDef zd_methods[] = {
    {"load", zd_load, METH_VARARGS,
     "load(librdkafka_path, crc32_address=0, fatal_error=None): resolve librdkafka's "
     "functions; use the CRC-32 function at the address (crc32_gzip_refl's signature) "
     "instead of zlib's; raise fatal_error (default _zipdrain.FatalError) for fatal Kafka "
     "errors."},
    {"crc32", zd_crc32, METH_VARARGS, "crc32(data): the CRC-32 the entries get (a self-check)."},
    {NULL}};

static struct PyModuleDef zd_module = {PyModuleDef_HEAD_INIT, "engine._zipdrain",
                                       "librdkafka messages straight into zip entries.", -1,
                                       zd_methods};

PyMODINIT_FUNC PyInit__zipdrain(void) {
    if (PyType_Ready(&DrainType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&zd_module);
    if (!m)
        return NULL;
    FatalError = PyErr_NewException("engine._zipdrain.FatalError", NULL, NULL);
    if (!FatalError || PyModule_AddObjectRef(m, "FatalError", FatalError) < 0 ||
        PyModule_AddObjectRef(m, "Drain", (PyObject *)&DrainType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
