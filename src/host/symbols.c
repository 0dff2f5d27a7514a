/*
 * symbols.c - reading a guest ELF's function symbols (see symbols.h).
 *
 * Every offset and size comes from the file and is checked before use, as
 * in elf.c; anything inconsistent means "no symbols", never a failure.
 */
#include <elf.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "symbols.h"

#define MAX_SYMS (1u << 20)
#define MAX_NAME 255u

struct sym {
    uint64_t addr, size;
    uint32_t name; /* offset in names */
};

struct glint_symtab {
    atomic_long refs;
    size_t n;
    struct sym *v;
    char *names;
};

static int by_addr(const void *a, const void *b)
{
    const struct sym *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int section(const uint8_t *data, size_t size, const Elf64_Ehdr *eh, uint32_t i, Elf64_Shdr *sh)
{
    if (i >= eh->e_shnum)
        return 0;
    memcpy(sh, data + eh->e_shoff + (uint64_t)i * sizeof *sh, sizeof *sh);
    return sh->sh_type == SHT_NOBITS || glint_range_ok(sh->sh_offset, sh->sh_size, size);
}

struct glint_symtab *glint_symtab_read(const uint8_t *data, size_t size)
{
    Elf64_Ehdr eh;
    if (!data || size < sizeof eh)
        return NULL;
    memcpy(&eh, data, sizeof eh);
    if (eh.e_shoff == 0 || eh.e_shnum == 0 || eh.e_shentsize != sizeof(Elf64_Shdr) ||
        !glint_range_ok(eh.e_shoff, (uint64_t)eh.e_shnum * sizeof(Elf64_Shdr), size))
        return NULL;
    Elf64_Shdr symsh, strsh;
    uint32_t i;
    for (i = 0; i < eh.e_shnum; i++)
        if (section(data, size, &eh, i, &symsh) && symsh.sh_type == SHT_SYMTAB)
            break;
    if (i == eh.e_shnum || symsh.sh_entsize != sizeof(Elf64_Sym) ||
        !section(data, size, &eh, symsh.sh_link, &strsh) || strsh.sh_type != SHT_STRTAB ||
        strsh.sh_size == 0)
        return NULL;
    const char *strtab = (const char *)data + strsh.sh_offset;
    uint64_t nsym = symsh.sh_size / sizeof(Elf64_Sym);
    if (nsym > MAX_SYMS)
        nsym = MAX_SYMS;

    struct glint_symtab *t = calloc(1, sizeof *t);
    size_t cap_names = 0, used_names = 0, cap_syms = 0;
    if (!t)
        return NULL;
    atomic_init(&t->refs, 1);
    for (uint64_t k = 0; k < nsym; k++) {
        Elf64_Sym s;
        memcpy(&s, data + symsh.sh_offset + k * sizeof s, sizeof s);
        if (ELF64_ST_TYPE(s.st_info) != STT_FUNC || s.st_shndx == SHN_UNDEF || s.st_value == 0 ||
            s.st_name >= strsh.sh_size)
            continue;
        const char *nm = strtab + s.st_name;
        const char *nul = memchr(nm, 0, strsh.sh_size - s.st_name);
        if (!nul || nul == nm)
            continue;
        size_t len = (size_t)(nul - nm);
        if (len > MAX_NAME)
            len = MAX_NAME;
        if (t->n == cap_syms) {
            size_t nc = cap_syms ? cap_syms * 2 : 256;
            struct sym *v = realloc(t->v, nc * sizeof *v);
            if (!v)
                goto fail;
            t->v = v;
            cap_syms = nc;
        }
        if (used_names + len + 1 > cap_names) {
            size_t nc = (cap_names + len + 1) * 2;
            char *p = realloc(t->names, nc);
            if (!p)
                goto fail;
            t->names = p;
            cap_names = nc;
        }
        memcpy(t->names + used_names, nm, len);
        t->names[used_names + len] = 0;
        t->v[t->n++] = (struct sym){s.st_value, s.st_size, (uint32_t)used_names};
        used_names += len + 1;
    }
    if (t->n == 0)
        goto fail;
    qsort(t->v, t->n, sizeof *t->v, by_addr);
    return t;
fail:
    free(t->v);
    free(t->names);
    free(t);
    return NULL;
}

struct glint_symtab *glint_symtab_ref(struct glint_symtab *t)
{
    if (t)
        atomic_fetch_add(&t->refs, 1);
    return t;
}

void glint_symtab_free(struct glint_symtab *t)
{
    if (t && atomic_fetch_sub(&t->refs, 1) == 1) {
        free(t->v);
        free(t->names);
        free(t);
    }
}

size_t glint_symtab_count(const struct glint_symtab *t)
{
    return t ? t->n : 0;
}

const char *glint_symtab_lookup(const struct glint_symtab *t, uint64_t addr, uint64_t *off)
{
    if (!t || t->n == 0 || addr < t->v[0].addr)
        return NULL;
    size_t lo = 0, hi = t->n; /* the last symbol with addr <= `addr` */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->v[mid].addr <= addr)
            lo = mid;
        else
            hi = mid;
    }
    const struct sym *s = &t->v[lo];
    /* Sized symbols must contain addr; a size-0 one runs to the next. */
    if (s->size ? addr - s->addr >= s->size : (lo + 1 < t->n ? 0 : addr - s->addr > 0x10000))
        return NULL;
    if (off)
        *off = addr - s->addr;
    return t->names + s->name;
}
