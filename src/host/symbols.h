/*
 * symbols.h - a guest ELF's function symbols, for the profiler (internal).
 *
 * Read best-effort from the section headers of a guest that glint_elf_parse
 * already accepted: a stripped guest, or one whose symbol table is damaged,
 * simply has none.  Immutable and reference counted: an image and the
 * sandboxes made from it share one table.
 */
#ifndef GLINT_SYMBOLS_H
#define GLINT_SYMBOLS_H

#include <stddef.h>
#include <stdint.h>

struct glint_symtab;

/* The function symbols of data[0..size), or NULL (none, or no memory). */
struct glint_symtab *glint_symtab_read(const uint8_t *data, size_t size);
struct glint_symtab *glint_symtab_ref(struct glint_symtab *t); /* NULL allowed */
void glint_symtab_free(struct glint_symtab *t);                 /* NULL allowed */
/* The function holding `addr` and the offset into it, or NULL. */
const char *glint_symtab_lookup(const struct glint_symtab *t, uint64_t addr, uint64_t *off);
size_t glint_symtab_count(const struct glint_symtab *t);

#endif
