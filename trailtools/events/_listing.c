/* trailtools.events._listing: count the names of a folder without making a Python object per name.

   A query over a few days of a long trail prunes most day folders whole; their files are only counted (the load's
   "files pruned"). Listing them is mostly the kernel's work, and this does all of it, with the interpreter lock
   released, so that a thread can count while the frame is built (trailtools/sources/local.py, _count_pruned).

   count(folders) -> (names, json_gz, odd), over the folders given and all their subfolders:
     names    names of entries that are not folders, those starting with "." left out
     json_gz  how many of those end with ".json.gz" and are regular files (or links to one)
     odd      the names of the other regular files (a list of str), for the caller to classify; FIFOs, sockets,
              devices (and links to them) are in ``names`` only: never read, they are no event files
   An entry is a folder to enter, a link to a folder (neither entered nor counted) or a name as os.walk takes it
   (os.scandir's is_dir and is_symlink, with their fallbacks to stat); a folder that cannot be listed (to the end)
   is left out, as os.walk leaves it out. All of it runs with the interpreter lock released.
*/
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    char **items;
    size_t n, cap;
} names_t;

/* Append a string: a copy of it (copy=1), or the string itself, which the list then owns. */
static int push(names_t *list, const char *name, int copy) {
    if (list->n == list->cap) {
        size_t cap = list->cap ? 2 * list->cap : 16;
        char **grown = realloc(list->items, cap * sizeof(char *));
        if (!grown)
            return -1;
        list->items = grown;
        list->cap = cap;
    }
    if (!(list->items[list->n] = copy ? strdup(name) : (char *)name))
        return -1;
    list->n++;
    return 0;
}

static void drop(names_t *list) {
    for (size_t i = 0; i < list->n; i++)
        free(list->items[i]);
    free(list->items);
}

enum { NAME, FOLDER, SKIP, SPECIAL };

/* What os.walk makes of an entry: a name (files, links to files, dangling links, anything stat cannot tell), a
   folder to enter, or nothing (a link to a folder); among the names, SPECIAL for FIFOs, sockets and devices (and
   links to them), which the reader would not open (trailtools/events/safe_open.py). */
static int kind_of(int fd, const struct dirent *e) {
    struct stat st;
    unsigned char type = e->d_type;
    if (type == DT_UNKNOWN) {
        if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            return NAME;
        if (S_ISDIR(st.st_mode))
            return FOLDER;
        type = S_ISLNK(st.st_mode) ? DT_LNK : S_ISREG(st.st_mode) ? DT_REG : DT_FIFO;
    }
    if (type == DT_DIR)
        return FOLDER;
    if (type == DT_LNK) {
        if (fstatat(fd, e->d_name, &st, 0) != 0)
            return NAME;
        return S_ISDIR(st.st_mode) ? SKIP : S_ISREG(st.st_mode) ? NAME : SPECIAL;
    }
    if (type == DT_FIFO || type == DT_SOCK || type == DT_CHR || type == DT_BLK)
        return SPECIAL;
    return NAME;
}

static PyObject *to_list(const names_t *list) {
    PyObject *out = PyList_New((Py_ssize_t)list->n);
    if (!out)
        return NULL;
    for (size_t i = 0; i < list->n; i++) {
        PyObject *s = PyUnicode_DecodeFSDefault(list->items[i]);
        if (!s) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, (Py_ssize_t)i, s);
    }
    return out;
}

/* One folder: its counts and odd names added to the totals, its subfolders pushed on the stack; nothing of it is
   added when it cannot be listed to the end (os.walk skips such a folder). Returns -1 when out of memory. */
static int count_folder(const char *path, names_t *stack, names_t *odd, Py_ssize_t *names, Py_ssize_t *json_gz) {
    static const char SUFFIX[] = ".json.gz";
    const size_t suffix_len = sizeof(SUFFIX) - 1;
    DIR *dir = opendir(path);
    if (!dir)
        return 0;
    size_t odd_before = odd->n, stack_before = stack->n, path_len = strlen(path);
    Py_ssize_t n = 0, gz = 0;
    int fd = dirfd(dir), status = 0;
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(dir);
        if (!e) {
            status = errno ? 1 : 0;
            break;
        }
        const char *name = e->d_name;
        if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0)))
            continue;
        int kind = kind_of(fd, e);
        if (kind == FOLDER) {
            size_t len = strlen(name);
            char *sub = malloc(path_len + len + 2);
            if (!sub) {
                status = -1;
                break;
            }
            memcpy(sub, path, path_len);
            sub[path_len] = '/';
            memcpy(sub + path_len + 1, name, len + 1);
            if (push(stack, sub, 0)) {
                free(sub);
                status = -1;
                break;
            }
        } else if (kind == SPECIAL && name[0] != '.') {
            n++;
        } else if (kind == NAME && name[0] != '.') {
            n++;
            size_t len = strlen(name);
            if (len >= suffix_len && memcmp(name + len - suffix_len, SUFFIX, suffix_len) == 0)
                gz++;
            else if (push(odd, name, 1)) {
                status = -1;
                break;
            }
        }
    }
    closedir(dir);
    if (status) {  /* a listing cut short: none of this folder counts (as os.walk, which skips it) */
        while (odd->n > odd_before)
            free(odd->items[--odd->n]);
        while (stack->n > stack_before)
            free(stack->items[--stack->n]);
        return status < 0 ? -1 : 0;
    }
    *names += n;
    *json_gz += gz;
    return 0;
}

static PyObject *count(PyObject *self, PyObject *arg) {
    (void)self;
    PyObject *folders = PySequence_Fast(arg, "count() takes a list of folders");
    if (!folders)
        return NULL;
    names_t stack = {0}, odd = {0};
    Py_ssize_t names = 0, json_gz = 0;
    int nomem = 0;
    for (Py_ssize_t i = PySequence_Fast_GET_SIZE(folders) - 1; i >= 0 && !nomem; i--) {
        PyObject *encoded = NULL;
        if (!PyUnicode_FSConverter(PySequence_Fast_GET_ITEM(folders, i), &encoded)) {
            Py_DECREF(folders);
            drop(&stack);
            return NULL;
        }
        nomem = push(&stack, PyBytes_AS_STRING(encoded), 1);
        Py_DECREF(encoded);
    }
    Py_DECREF(folders);

    Py_BEGIN_ALLOW_THREADS
    while (!nomem && stack.n) {
        char *path = stack.items[--stack.n];
        nomem = count_folder(path, &stack, &odd, &names, &json_gz) != 0;
        free(path);
    }
    Py_END_ALLOW_THREADS

    PyObject *result = NULL;
    if (nomem) {
        PyErr_NoMemory();
    } else {
        PyObject *odd_list = to_list(&odd);
        if (odd_list)
            result = Py_BuildValue("(nnN)", names, json_gz, odd_list);
    }
    drop(&odd);
    drop(&stack);
    return result;
}

/* stat_files(paths) -> [(size, mtime_ns) or (-1, -1) for each path]: what the cache key says of each file
   (trailtools/events/chunk.py, _identity), each folder opened once and its files stat()ed by name in it (fstatat),
   with the interpreter lock released. */
static PyObject *stat_files(PyObject *self, PyObject *arg) {
    (void)self;
    PyObject *paths = PySequence_Fast(arg, "stat_files() takes a list of paths");
    if (!paths)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(paths);
    PyObject **encoded = PyMem_Calloc(n ? n : 1, sizeof(PyObject *));
    long long *size = PyMem_Calloc(n ? n : 1, sizeof(long long));
    long long *mtime = PyMem_Calloc(n ? n : 1, sizeof(long long));
    PyObject *result = NULL;
    if (!encoded || !size || !mtime) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++)
        if (!PyUnicode_FSConverter(PySequence_Fast_GET_ITEM(paths, i), &encoded[i]))
            goto done;
    Py_BEGIN_ALLOW_THREADS
    char folder[4096] = {0};
    int fd = -1, have = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        const char *path = PyBytes_AS_STRING(encoded[i]);
        const char *slash = strrchr(path, '/');
        const char *name = path;
        int at = AT_FDCWD;
        if (slash && (size_t)(slash - path) < sizeof(folder)) {
            size_t len = (size_t)(slash - path);
            if (!have || strncmp(folder, path, len) != 0 || folder[len] != 0) {
                if (fd >= 0)
                    close(fd);
                memcpy(folder, path, len);
                folder[len] = 0;
                have = 1;
                fd = open(len ? folder : "/", O_RDONLY | O_DIRECTORY | O_PATH);
            }
            if (fd >= 0) {
                at = fd;
                name = slash + 1;
            }
        }
        struct stat st;
        if (fstatat(at, name, &st, 0) == 0) {
            size[i] = (long long)st.st_size;
            mtime[i] = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
        } else {
            size[i] = mtime[i] = -1;
        }
    }
    if (fd >= 0)
        close(fd);
    Py_END_ALLOW_THREADS
    result = PyList_New(n);
    for (Py_ssize_t i = 0; result && i < n; i++) {
        PyObject *pair = Py_BuildValue("(LL)", size[i], mtime[i]);
        if (!pair) {
            Py_CLEAR(result);
            break;
        }
        PyList_SET_ITEM(result, i, pair);
    }
done:
    if (encoded)
        for (Py_ssize_t i = 0; i < n; i++)
            Py_XDECREF(encoded[i]);
    PyMem_Free(encoded);
    PyMem_Free(size);
    PyMem_Free(mtime);
    Py_DECREF(paths);
    return result;
}

static PyMethodDef methods[] = {
    {"count", count, METH_O, "count(folders) -> (names, json_gz, odd names): see the module's source."},
    {"stat_files", stat_files, METH_O, "stat_files(paths) -> [(size, mtime_ns) or (-1, -1)]: see the source."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "trailtools.events._listing", NULL, -1, methods};

PyMODINIT_FUNC PyInit__listing(void) { return PyModule_Create(&module); }
