/*
 * elf.c - validating a glint guest ELF and loading it into guest memory.
 *
 * glint_elf_parse() trusts nothing in the file: every structure is copied
 * out of img->data with memcpy (no unaligned casts), every offset and size
 * is checked with overflow-safe arithmetic before it is used, and every
 * failure is one line naming what is wrong and where.  Section headers are
 * never read.  Checks run in this order, so that the most helpful message
 * wins: ELF header, program header table, ABI note (a foreign ELF is told
 * it lacks the note), loadable segments, entry point, function table.
 */
#include <assert.h>
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "glint/layout.h"
#include "image.h"

#define PAGE GLINT_PAGE_SIZE
#define X(v) ((unsigned long long)(v))

/* State of one parse. */
struct elf_ctx {
    struct glint_image *img;
    glint_error *err;
    Elf64_Ehdr eh;
    uint16_t seg_ph[GLINT_IMAGE_MAX_SEGS]; /* program header index of img->segs[i] */
    int have_note;
    struct glint_abi_note note;
};

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) & ~(a - 1); /* callers keep v far below 2^64 */
}

/* ------------------------------------------------------------------------- */
/* ELF header */

static glint_status check_ident(struct elf_ctx *c)
{
    const struct glint_image *img = c->img;
    const uint8_t *id = img->data;
    if (img->size == 0)
        return glint_fail(c->err, GLINT_E_BAD_IMAGE, "image is empty (0 bytes)");
    if (img->size > GLINT_IMAGE_MAX_BYTES)
        return glint_fail(c->err, GLINT_E_BAD_IMAGE, "image is too large (%zu bytes, at most %u)",
                          img->size, GLINT_IMAGE_MAX_BYTES);
    if (img->size < SELFMAG || memcmp(id, ELFMAG, SELFMAG) != 0)
        return glint_fail(c->err, GLINT_E_BAD_IMAGE, "not an ELF file (bad magic)");
    if (img->size < sizeof(Elf64_Ehdr))
        return glint_fail(c->err, GLINT_E_BAD_IMAGE,
                          "ELF file truncated: %zu bytes, smaller than the 64-byte ELF header",
                          img->size);
    if (id[EI_CLASS] != ELFCLASS64)
        return glint_fail(c->err, GLINT_E_BAD_IMAGE, "ELF class %u is not ELF64", id[EI_CLASS]);
    if (id[EI_DATA] != ELFDATA2LSB)
        return glint_fail(c->err, GLINT_E_BAD_IMAGE, "ELF data encoding %u is not little-endian",
                          id[EI_DATA]);
    if (id[EI_VERSION] != EV_CURRENT)
        return glint_fail(c->err, GLINT_E_BAD_IMAGE, "ELF identification version %u is not 1",
                          id[EI_VERSION]);
    if (id[EI_OSABI] != ELFOSABI_SYSV && id[EI_OSABI] != ELFOSABI_GNU)
        return glint_fail(c->err, GLINT_E_BAD_IMAGE, "ELF OS ABI %u is neither SYSV nor GNU",
                          id[EI_OSABI]);
    return GLINT_OK;
}

static glint_status check_type(struct elf_ctx *c)
{
    const Elf64_Ehdr *eh = &c->eh;
    if (eh->e_type == ET_DYN)
        return glint_fail(c->err, GLINT_E_BAD_IMAGE,
                          "ELF type ET_DYN (shared object or PIE) is not ET_EXEC: "
                          "build the guest static and non-PIE with glint-cc");
    if (eh->e_type != ET_EXEC)
        return glint_fail(c->err, GLINT_E_BAD_IMAGE, "ELF type %u is not ET_EXEC (executable)",
                          eh->e_type);
    if (eh->e_machine != EM_X86_64)
        return glint_fail(c->err, GLINT_E_BAD_IMAGE, "ELF machine %u is not x86-64", eh->e_machine);
    if (eh->e_version != EV_CURRENT)
        return glint_fail(c->err, GLINT_E_BAD_IMAGE, "ELF version %u is not 1", eh->e_version);
    if (eh->e_ehsize != sizeof(Elf64_Ehdr))
        return glint_fail(c->err, GLINT_E_BAD_IMAGE, "ELF header size %u, expected %zu",
                          eh->e_ehsize, sizeof(Elf64_Ehdr));
    return GLINT_OK;
}

static glint_status check_phdr_table(struct elf_ctx *c)
{
    const Elf64_Ehdr *eh = &c->eh;
    if (eh->e_phnum == 0)
        return glint_fail(c->err, GLINT_E_BAD_IMAGE, "ELF file has no program headers");
    if (eh->e_phnum == PN_XNUM)
        return glint_fail(c->err, GLINT_E_BAD_IMAGE,
                          "ELF program header count is extended (PN_XNUM): too many headers");
    if (eh->e_phentsize != sizeof(Elf64_Phdr))
        return glint_fail(c->err, GLINT_E_BAD_IMAGE, "ELF program header size %u, expected %zu",
                          eh->e_phentsize, sizeof(Elf64_Phdr));
    uint64_t bytes = (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr); /* < 2^22: no overflow */
    if (!glint_range_ok(eh->e_phoff, bytes, c->img->size))
        return glint_fail(c->err, GLINT_E_BAD_IMAGE,
                          "ELF program header table (offset 0x%llx, %u entries) lies outside "
                          "the file (%zu bytes)",
                          X(eh->e_phoff), eh->e_phnum, c->img->size);
    return GLINT_OK;
}

static glint_status check_header(struct elf_ctx *c)
{
    glint_status s;
    if ((s = check_ident(c)))
        return s;
    memcpy(&c->eh, c->img->data, sizeof c->eh);
    if ((s = check_type(c)) || (s = check_phdr_table(c)))
        return s;
    return GLINT_OK;
}

/* Program header `i`; the table was bounds-checked by check_phdr_table. */
static Elf64_Phdr read_phdr(const struct elf_ctx *c, unsigned i)
{
    Elf64_Phdr ph;
    memcpy(&ph, c->img->data + c->eh.e_phoff + (uint64_t)i * sizeof ph, sizeof ph);
    return ph;
}

/* ------------------------------------------------------------------------- */
/* The ABI note */

static glint_status take_note(struct elf_ctx *c, unsigned i, uint64_t off, const uint8_t *desc,
                              uint64_t descsz)
{
    if (c->have_note)
        return glint_fail(c->err, GLINT_E_BAD_IMAGE,
                          "ELF program header %u: a second glint ABI note (offset 0x%llx)", i,
                          X(off));
    if (descsz != sizeof c->note)
        return glint_fail(c->err, GLINT_E_BAD_IMAGE,
                          "ELF program header %u: glint ABI note descriptor is %llu bytes, "
                          "expected %zu",
                          i, X(descsz), sizeof c->note);
    memcpy(&c->note, desc, sizeof c->note);
    c->have_note = 1;
    return GLINT_OK;
}

/*
 * Walks the notes of PT_NOTE header `i`.  Each note is a 12-byte header
 * (namesz, descsz, type), the name, then the descriptor at the next multiple
 * of the note alignment `a` (from the note's start), and the next note at
 * the multiple of `a` after the descriptor.  `a` is 8 if p_align is 8, else
 * 4, as binutils reads notes.  The padding after the last note may be absent.
 */
static glint_status scan_notes(struct elf_ctx *c, unsigned i, const Elf64_Phdr *ph)
{
    if (!glint_range_ok(ph->p_offset, ph->p_filesz, c->img->size))
        return glint_fail(c->err, GLINT_E_BAD_IMAGE,
                          "ELF program header %u: notes (offset 0x%llx, 0x%llx bytes) lie outside "
                          "the file (%zu bytes)",
                          i, X(ph->p_offset), X(ph->p_filesz), c->img->size);
    const uint8_t *base = c->img->data + ph->p_offset;
    const uint64_t len = ph->p_filesz, a = ph->p_align == 8 ? 8 : 4;
    for (uint64_t pos = 0; pos < len;) {
        const uint64_t room = len - pos, at = ph->p_offset + pos;
        Elf64_Nhdr nh;
        if (room < sizeof nh)
            return glint_fail(c->err, GLINT_E_BAD_IMAGE,
                              "ELF program header %u: truncated note header at offset 0x%llx", i,
                              X(at));
        memcpy(&nh, base + pos, sizeof nh);
        if (nh.n_namesz > room - sizeof nh)
            return glint_fail(c->err, GLINT_E_BAD_IMAGE,
                              "ELF program header %u: note at offset 0x%llx: name (%u bytes) "
                              "overruns the segment",
                              i, X(at), nh.n_namesz);
        uint64_t desc = align_up(sizeof nh + (uint64_t)nh.n_namesz, a); /* < 2^33 */
        if (nh.n_descsz && (desc > room || nh.n_descsz > room - desc))
            return glint_fail(c->err, GLINT_E_BAD_IMAGE,
                              "ELF program header %u: note at offset 0x%llx: descriptor (%u bytes) "
                              "overruns the segment",
                              i, X(at), nh.n_descsz);
        if (nh.n_namesz == sizeof GLINT_NOTE_NAME && nh.n_type == GLINT_NOTE_ABI &&
            memcmp(base + pos + sizeof nh, GLINT_NOTE_NAME, sizeof GLINT_NOTE_NAME) == 0) {
            glint_status s = take_note(c, i, at, base + pos + desc, nh.n_descsz);
            if (s)
                return s;
        }
        uint64_t next = align_up(desc + nh.n_descsz, a);
        pos += next < room ? next : room;
    }
    return GLINT_OK;
}

static glint_status find_note(struct elf_ctx *c)
{
    for (unsigned i = 0; i < c->eh.e_phnum; i++) {
        Elf64_Phdr ph = read_phdr(c, i);
        if (ph.p_type != PT_NOTE)
            continue;
        glint_status s = scan_notes(c, i, &ph);
        if (s)
            return s;
    }
    if (!c->have_note)
        return glint_fail(c->err, GLINT_E_ABI,
                          "no glint ABI note: was this built with glint-cc?");
    if (c->note.abi_version != GLINT_ABI_VERSION)
        return glint_fail(c->err, GLINT_E_ABI, "guest ABI version %u, host supports %u",
                          c->note.abi_version, GLINT_ABI_VERSION);
    if (c->note.fn_desc_size != sizeof(struct glint_fn_desc))
        return glint_fail(c->err, GLINT_E_BAD_IMAGE,
                          "glint ABI note: function descriptor size %u, expected %zu",
                          c->note.fn_desc_size, sizeof(struct glint_fn_desc));
    c->img->abi_version = c->note.abi_version;
    return GLINT_OK;
}

/* ------------------------------------------------------------------------- */
/* Program headers and loadable segments */

static glint_status check_load_flags(struct elf_ctx *c, unsigned i, const Elf64_Phdr *ph)
{
    if (ph->p_flags & ~(uint32_t)(PF_R | PF_W | PF_X))
        return glint_fail(c->err, GLINT_E_BAD_IMAGE, "ELF program header %u: unknown flags 0x%x",
                          i, ph->p_flags);
    if (!(ph->p_flags & PF_R))
        return glint_fail(c->err, GLINT_E_BAD_IMAGE,
                          "ELF program header %u: segment at 0x%llx is not readable", i,
                          X(ph->p_vaddr));
    if ((ph->p_flags & PF_W) && (ph->p_flags & PF_X))
        return glint_fail(c->err, GLINT_E_BAD_IMAGE,
                          "ELF program header %u: segment at 0x%llx is both writable and "
                          "executable (W^X)",
                          i, X(ph->p_vaddr));
    return GLINT_OK;
}

static glint_status check_load_place(struct elf_ctx *c, unsigned i, const Elf64_Phdr *ph)
{
    if (ph->p_vaddr % PAGE)
        return glint_fail(c->err, GLINT_E_BAD_IMAGE,
                          "ELF program header %u: segment address 0x%llx is not page aligned", i,
                          X(ph->p_vaddr));
    if (ph->p_vaddr < GLINT_IMAGE_BASE)
        return glint_fail(c->err, GLINT_E_BAD_IMAGE,
                          "ELF program header %u: segment address 0x%llx is below the image base "
                          "0x%llx",
                          i, X(ph->p_vaddr), X(GLINT_IMAGE_BASE));
    if (ph->p_vaddr >= GLINT_MEMORY_MAX || ph->p_memsz > GLINT_MEMORY_MAX - ph->p_vaddr)
        return glint_fail(c->err, GLINT_E_BAD_IMAGE,
                          "ELF program header %u: segment at 0x%llx of 0x%llx bytes ends beyond "
                          "the guest memory limit 0x%llx",
                          i, X(ph->p_vaddr), X(ph->p_memsz), X(GLINT_MEMORY_MAX));
    if (ph->p_filesz && !glint_range_ok(ph->p_offset, ph->p_filesz, c->img->size))
        return glint_fail(c->err, GLINT_E_BAD_IMAGE,
                          "ELF program header %u: segment data (offset 0x%llx, 0x%llx bytes) lies "
                          "outside the file (%zu bytes)",
                          i, X(ph->p_offset), X(ph->p_filesz), c->img->size);
    if (ph->p_offset % PAGE != ph->p_vaddr % PAGE)
        return glint_fail(c->err, GLINT_E_BAD_IMAGE,
                          "ELF program header %u: file offset 0x%llx and address 0x%llx differ "
                          "modulo the page size",
                          i, X(ph->p_offset), X(ph->p_vaddr));
    return GLINT_OK;
}

/* Validates PT_LOAD header `i` and appends it to img->segs (unless empty). */
static glint_status add_load(struct elf_ctx *c, unsigned i, const Elf64_Phdr *ph)
{
    struct glint_image *img = c->img;
    if (ph->p_filesz > ph->p_memsz)
        return glint_fail(c->err, GLINT_E_BAD_IMAGE,
                          "ELF program header %u: file size 0x%llx exceeds memory size 0x%llx", i,
                          X(ph->p_filesz), X(ph->p_memsz));
    if (ph->p_memsz == 0)
        return GLINT_OK; /* an empty segment (e.g. a PHDRS entry with no sections) loads nothing */
    glint_status s;
    if ((s = check_load_flags(c, i, ph)) || (s = check_load_place(c, i, ph)))
        return s;
    if (img->nsegs == GLINT_IMAGE_MAX_SEGS)
        return glint_fail(c->err, GLINT_E_BAD_IMAGE,
                          "ELF program header %u: more than %u loadable segments", i,
                          GLINT_IMAGE_MAX_SEGS);
    /* memsz stays exact until check_overlaps; it is rounded up there. */
    img->segs[img->nsegs] = (struct glint_segment){
        .vaddr = ph->p_vaddr,
        .memsz = ph->p_memsz,
        .filesz = ph->p_filesz,
        .offset = ph->p_offset,
        .flags = ph->p_flags,
    };
    c->seg_ph[img->nsegs++] = (uint16_t)i;
    return GLINT_OK;
}

static glint_status check_phdr(struct elf_ctx *c, unsigned i, const Elf64_Phdr *ph)
{
    switch (ph->p_type) {
    case PT_LOAD:
        return add_load(c, i, ph);
    case PT_INTERP:
        return glint_fail(c->err, GLINT_E_BAD_IMAGE,
                          "ELF program header %u: PT_INTERP: the guest is dynamically linked; "
                          "a glint guest must be static",
                          i);
    case PT_DYNAMIC:
        return glint_fail(c->err, GLINT_E_BAD_IMAGE,
                          "ELF program header %u: PT_DYNAMIC: a glint guest must be static, "
                          "with no dynamic section",
                          i);
    case PT_TLS:
        return glint_fail(c->err, GLINT_E_BAD_IMAGE,
                          "ELF program header %u: PT_TLS: thread-local storage is not supported "
                          "in a glint guest",
                          i);
    default:
        return GLINT_OK; /* PT_NOTE (see find_note), PT_GNU_STACK, PT_PHDR, ... */
    }
}

/* Sorts img->segs by address (insertion sort: at most 8 entries). */
static void sort_segments(struct elf_ctx *c)
{
    struct glint_image *img = c->img;
    for (size_t i = 1; i < img->nsegs; i++) {
        for (size_t j = i; j > 0 && img->segs[j - 1].vaddr > img->segs[j].vaddr; j--) {
            struct glint_segment t = img->segs[j];
            img->segs[j] = img->segs[j - 1];
            img->segs[j - 1] = t;
            uint16_t p = c->seg_ph[j];
            c->seg_ph[j] = c->seg_ph[j - 1];
            c->seg_ph[j - 1] = p;
        }
    }
}

/*
 * Refuses overlapping segments; then rounds memsz up to whole pages.  As
 * every vaddr is page aligned, segments that do not overlap share no page.
 */
static glint_status check_overlaps(struct elf_ctx *c)
{
    struct glint_image *img = c->img;
    for (size_t k = 1; k < img->nsegs; k++) {
        const struct glint_segment *a = &img->segs[k - 1], *b = &img->segs[k];
        if (a->vaddr + a->memsz <= b->vaddr) /* no overflow: ends <= GLINT_MEMORY_MAX */
            continue;
        unsigned pa = c->seg_ph[k - 1], pb = c->seg_ph[k];
        const struct glint_segment *h = pa > pb ? a : b, *l = pa > pb ? b : a;
        return glint_fail(c->err, GLINT_E_BAD_IMAGE,
                          "ELF program header %u: segment [0x%llx, 0x%llx) overlaps segment %u "
                          "[0x%llx, 0x%llx)",
                          pa > pb ? pa : pb, X(h->vaddr), X(h->vaddr + h->memsz),
                          pa > pb ? pb : pa, X(l->vaddr), X(l->vaddr + l->memsz));
    }
    for (size_t k = 0; k < img->nsegs; k++)
        img->segs[k].memsz = align_up(img->segs[k].memsz, PAGE);
    return GLINT_OK;
}

static glint_status check_segments(struct elf_ctx *c)
{
    for (unsigned i = 0; i < c->eh.e_phnum; i++) {
        Elf64_Phdr ph = read_phdr(c, i);
        glint_status s = check_phdr(c, i, &ph);
        if (s)
            return s;
    }
    struct glint_image *img = c->img;
    if (img->nsegs == 0)
        return glint_fail(c->err, GLINT_E_BAD_IMAGE, "ELF file has no loadable segment");
    sort_segments(c);
    glint_status s = check_overlaps(c);
    if (s)
        return s;
    const struct glint_segment *last = &img->segs[img->nsegs - 1];
    img->image_end = last->vaddr + last->memsz;
    return GLINT_OK;
}

/*
 * The segment whose file-backed bytes hold all of [addr, addr + len), or
 * NULL.  Only segments with all of the flags in `need` are considered.
 */
static const struct glint_segment *segment_holding(const struct glint_image *img, uint64_t addr,
                                                   uint64_t len, uint32_t need)
{
    for (size_t k = 0; k < img->nsegs; k++) {
        const struct glint_segment *s = &img->segs[k];
        if ((s->flags & need) == need && addr >= s->vaddr &&
            glint_range_ok(addr - s->vaddr, len, s->filesz))
            return s;
    }
    return NULL;
}

static glint_status check_entry(struct elf_ctx *c)
{
    if (!segment_holding(c->img, c->eh.e_entry, 1, PF_X))
        return glint_fail(c->err, GLINT_E_BAD_IMAGE,
                          "ELF entry point 0x%llx is not inside an executable segment",
                          X(c->eh.e_entry));
    c->img->entry = c->eh.e_entry;
    return GLINT_OK;
}

/* ------------------------------------------------------------------------- */
/* The function table */

static int valid_type(unsigned t)
{
    return t < GLINT_TYPE_COUNT;
}

/* Checks the name of table entry `i` (a copy in `name`, 64 bytes). */
static glint_status check_name(struct elf_ctx *c, size_t i, const char *name)
{
    const char *nul = memchr(name, '\0', GLINT_MAX_NAME + 1);
    if (!nul)
        return glint_fail(c->err, GLINT_E_BAD_IMAGE,
                          "function table entry %zu: name is not NUL-terminated within %u bytes",
                          i, GLINT_MAX_NAME + 1);
    if (nul == name)
        return glint_fail(c->err, GLINT_E_BAD_IMAGE, "function table entry %zu: empty name", i);
    for (const char *p = name; p < nul; p++) {
        unsigned char ch = (unsigned char)*p;
        int ok = ch == '_' || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                 (p > name && ch >= '0' && ch <= '9');
        if (!ok)
            return glint_fail(c->err, GLINT_E_BAD_IMAGE,
                              "function table entry %zu: byte 0x%02x at position %zu of the name "
                              "is not allowed in an identifier",
                              i, ch, (size_t)(p - name));
    }
    return GLINT_OK;
}

static glint_status check_signature(struct elf_ctx *c, size_t i, const struct glint_fn_desc *d)
{
    if (!valid_type(d->ret))
        return glint_fail(c->err, GLINT_E_BAD_IMAGE,
                          "function table entry %zu (%s): invalid return type %u", i, d->name,
                          d->ret);
    if (d->nparams > GLINT_MAX_PARAMS)
        return glint_fail(c->err, GLINT_E_BAD_IMAGE,
                          "function table entry %zu (%s): %u parameters, at most %u", i, d->name,
                          d->nparams, GLINT_MAX_PARAMS);
    for (unsigned k = 0; k < d->nparams; k++) {
        if (!valid_type(d->params[k]) || d->params[k] == GLINT_VOID)
            return glint_fail(c->err, GLINT_E_BAD_IMAGE,
                              "function table entry %zu (%s): parameter %u has %s type %u", i,
                              d->name, k, d->params[k] == GLINT_VOID ? "the void" : "invalid",
                              d->params[k]);
    }
    if (!segment_holding(c->img, d->entry, 1, PF_X))
        return glint_fail(c->err, GLINT_E_BAD_IMAGE,
                          "function table entry %zu (%s): entry point 0x%llx is not inside an "
                          "executable segment",
                          i, d->name, X(d->entry));
    return GLINT_OK;
}

/* Validates descriptor `i` and copies it into the image's own arrays. */
static glint_status take_desc(struct elf_ctx *c, size_t i, const uint8_t *raw)
{
    struct glint_image *img = c->img;
    struct glint_fn_desc d;
    memcpy(&d, raw, sizeof d);
    glint_status s;
    if ((s = check_name(c, i, d.name)) || (s = check_signature(c, i, &d)))
        return s;
    memcpy(img->names[i], d.name, sizeof img->names[i]);
    glint_function *f = &img->funcs[i];
    f->name = img->names[i];
    f->ret = (glint_type)d.ret;
    f->nparams = d.nparams;
    for (unsigned k = 0; k < d.nparams; k++)
        f->params[k] = (glint_type)d.params[k];
    img->fn_entries[i] = d.entry;
    return GLINT_OK;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Refuses two functions of the same name (sorting a list of name pointers). */
static glint_status check_unique(struct elf_ctx *c)
{
    struct glint_image *img = c->img;
    if (img->nfuncs < 2)
        return GLINT_OK;
    const char **v = malloc(img->nfuncs * sizeof *v);
    if (!v)
        return glint_fail(c->err, GLINT_E_NOMEM, "out of memory checking the function table");
    for (size_t i = 0; i < img->nfuncs; i++)
        v[i] = img->names[i];
    qsort(v, img->nfuncs, sizeof *v, cmp_name);
    glint_status s = GLINT_OK;
    for (size_t i = 1; i < img->nfuncs && !s; i++) {
        if (strcmp(v[i - 1], v[i]) == 0) {
            size_t a = (size_t)((const char(*)[GLINT_MAX_NAME + 1])v[i - 1] - img->names);
            size_t b = (size_t)((const char(*)[GLINT_MAX_NAME + 1])v[i] - img->names);
            s = glint_fail(c->err, GLINT_E_BAD_IMAGE,
                           "function table entries %zu and %zu: duplicate name %s",
                           a < b ? a : b, a < b ? b : a, v[i]);
        }
    }
    free(v);
    return s;
}

/* File offset of the table, after checking its place: in a read-only segment's file bytes. */
static glint_status locate_table(struct elf_ctx *c, uint64_t bytes, uint64_t *off)
{
    uint64_t start = c->note.fn_table;
    const struct glint_segment *s = segment_holding(c->img, start, bytes, 0);
    if (!s)
        return glint_fail(c->err, GLINT_E_BAD_IMAGE,
                          "function table [0x%llx, 0x%llx) is not inside the file data of a "
                          "loadable segment",
                          X(start), X(c->note.fn_table_end));
    if (s->flags & PF_W)
        return glint_fail(c->err, GLINT_E_BAD_IMAGE,
                          "function table [0x%llx, 0x%llx) is in a writable segment", X(start),
                          X(c->note.fn_table_end));
    *off = s->offset + (start - s->vaddr);
    return GLINT_OK;
}

static glint_status read_table(struct elf_ctx *c)
{
    struct glint_image *img = c->img;
    uint64_t start = c->note.fn_table, end = c->note.fn_table_end;
    if (end < start)
        return glint_fail(c->err, GLINT_E_BAD_IMAGE,
                          "glint ABI note: function table end 0x%llx is below its start 0x%llx",
                          X(end), X(start));
    uint64_t bytes = end - start, n = bytes / sizeof(struct glint_fn_desc);
    if (bytes % sizeof(struct glint_fn_desc))
        return glint_fail(c->err, GLINT_E_BAD_IMAGE,
                          "glint ABI note: function table size %llu is not a multiple of %zu",
                          X(bytes), sizeof(struct glint_fn_desc));
    if (n > GLINT_IMAGE_MAX_FUNCS)
        return glint_fail(c->err, GLINT_E_BAD_IMAGE,
                          "function table has %llu entries, at most %u", X(n),
                          GLINT_IMAGE_MAX_FUNCS);
    if (n == 0)
        return GLINT_OK; /* a guest with no functions is valid (if useless) */
    uint64_t off = 0;
    glint_status s = locate_table(c, bytes, &off);
    if (s)
        return s;
    img->funcs = calloc(n, sizeof *img->funcs);
    img->fn_entries = calloc(n, sizeof *img->fn_entries);
    img->names = calloc(n, sizeof *img->names);
    if (!img->funcs || !img->fn_entries || !img->names)
        return glint_fail(c->err, GLINT_E_NOMEM, "out of memory for a table of %llu functions",
                          X(n));
    img->nfuncs = (size_t)n;
    for (size_t i = 0; i < n; i++) {
        if ((s = take_desc(c, i, img->data + off + i * sizeof(struct glint_fn_desc))))
            return s;
    }
    return check_unique(c);
}

/* ------------------------------------------------------------------------- */

/* Zeroes every field but data and size (freeing nothing). */
static void clear_parsed(struct glint_image *img)
{
    uint8_t *data = img->data;
    size_t size = img->size;
    memset(img, 0, sizeof *img);
    img->data = data;
    img->size = size;
}

glint_status glint_elf_parse(struct glint_image *img, glint_error *err)
{
    struct elf_ctx c;
    memset(&c, 0, sizeof c);
    c.img = img;
    c.err = err;
    clear_parsed(img);
    glint_status s;
    if ((s = check_header(&c)) || (s = find_note(&c)) || (s = check_segments(&c)) ||
        (s = check_entry(&c)) || (s = read_table(&c))) {
        free(img->funcs);
        free(img->fn_entries);
        free(img->names);
        clear_parsed(img);
        return s;
    }
    return GLINT_OK;
}

int glint_image_write(const struct glint_image *img, int fd)
{
    for (size_t k = 0; k < img->nsegs; k++) {
        const struct glint_segment *s = &img->segs[k];
        for (size_t done = 0; done < s->filesz;) {
            ssize_t w = pwrite(fd, img->data + s->offset + done, s->filesz - done, (off_t)(s->vaddr + done));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                return -1;
            done += (size_t)w;
        }
    }
    return 0;
}

void glint_image_load(const struct glint_image *img, uint8_t *mem, size_t mem_size)
{
    assert(mem_size >= img->image_end);
    (void)mem_size;
    for (size_t k = 0; k < img->nsegs; k++) {
        const struct glint_segment *s = &img->segs[k];
        if (s->filesz)
            memcpy(mem + s->vaddr, img->data + s->offset, s->filesz);
    }
}
