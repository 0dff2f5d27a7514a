/*
 * test_elf.c - the ELF loader and the image API, on images built here (no
 * guest toolchain needed): one valid image, then one test per kind of
 * malformation, truncation at every length, and random byte flips.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "glint/glint.h"
#include "glint/layout.h"
#include "image.h"

#ifndef GLINT_BUILD_DIR
#define GLINT_BUILD_DIR "build"
#endif

/* ---------------------------------------------------------------------------
 * A minimal valid guest image.  File layout:
 *   0x0000 ELF header, program headers
 *   0x1000 text   (R X) at 0x20000 (GLINT_IMAGE_BASE), 0x100 bytes
 *   0x2000 rodata (R)   at 0x21000: function table, then the ABI note at +0x800
 *   0x3000 data   (R W) at 0x22000, 0x10 bytes in the file, 0x2000 in memory
 * The expected messages below spell these addresses out: if the layout moves
 * the image base again, the assertion after the defines says so.
 */
#define TEXT_OFF 0x1000u
#define TEXT_VA 0x20000u
#define TEXT_SZ 0x100u
#define RO_OFF 0x2000u
#define RO_VA 0x21000u
#define RO_SZ 0x1000u
#define NOTE_OFF (RO_OFF + 0x800u)
#define DATA_OFF 0x3000u
#define DATA_VA 0x22000u
#define DATA_FILESZ 0x10u
#define DATA_MEMSZ 0x2000u
#define FILE_SZ (DATA_OFF + DATA_FILESZ)
#define NOTE_SZ (12u + 8u + 24u)
#define MAX_PH 12u
#define BUF_MAX 0x8000u

_Static_assert(TEXT_VA == GLINT_IMAGE_BASE, "the test image starts at the image base (ABI 2)");
_Static_assert(GLINT_ABI_VERSION == 2u, "the expected ABI messages below are for ABI 2");

enum { PH_TEXT, PH_RO, PH_DATA, PH_NOTE, PH_STACK, PH_COUNT };

struct spec {
    Elf64_Ehdr eh;
    Elf64_Phdr ph[MAX_PH];
    unsigned nph;
    Elf64_Nhdr nh;
    char note_name[8];
    struct glint_abi_note note;
    struct glint_fn_desc fns[8];
    unsigned nfns;
    size_t size;
};

static uint8_t buf[BUF_MAX];

static Elf64_Phdr phdr(uint32_t type, uint32_t flags, uint64_t off, uint64_t va, uint64_t filesz,
                       uint64_t memsz)
{
    return (Elf64_Phdr){.p_type = type, .p_flags = flags, .p_offset = off, .p_vaddr = va,
                        .p_paddr = va, .p_filesz = filesz, .p_memsz = memsz, .p_align = 0x1000};
}

static struct glint_fn_desc fn(const char *name, uint64_t entry, uint8_t ret, unsigned n,
                               const uint8_t *params)
{
    struct glint_fn_desc d;
    memset(&d, 0, sizeof d);
    d.entry = entry;
    d.ret = ret;
    d.nparams = (uint8_t)n;
    if (n)
        memcpy(d.params, params, n);
    strncpy(d.name, name, sizeof d.name);
    return d;
}

static void spec_default(struct spec *s)
{
    memset(s, 0, sizeof *s);
    memcpy(s->eh.e_ident, ELFMAG, SELFMAG);
    s->eh.e_ident[EI_CLASS] = ELFCLASS64;
    s->eh.e_ident[EI_DATA] = ELFDATA2LSB;
    s->eh.e_ident[EI_VERSION] = EV_CURRENT;
    s->eh.e_ident[EI_OSABI] = ELFOSABI_SYSV;
    s->eh.e_type = ET_EXEC;
    s->eh.e_machine = EM_X86_64;
    s->eh.e_version = EV_CURRENT;
    s->eh.e_entry = TEXT_VA + 0x40;
    s->eh.e_phoff = sizeof(Elf64_Ehdr);
    s->eh.e_ehsize = sizeof(Elf64_Ehdr);
    s->eh.e_phentsize = sizeof(Elf64_Phdr);
    s->eh.e_phnum = PH_COUNT;
    s->nph = PH_COUNT;
    s->ph[PH_TEXT] = phdr(PT_LOAD, PF_R | PF_X, TEXT_OFF, TEXT_VA, TEXT_SZ, TEXT_SZ);
    s->ph[PH_RO] = phdr(PT_LOAD, PF_R, RO_OFF, RO_VA, RO_SZ, RO_SZ);
    s->ph[PH_DATA] = phdr(PT_LOAD, PF_R | PF_W, DATA_OFF, DATA_VA, DATA_FILESZ, DATA_MEMSZ);
    s->ph[PH_NOTE] = phdr(PT_NOTE, PF_R, NOTE_OFF, RO_VA + 0x800, NOTE_SZ, NOTE_SZ);
    s->ph[PH_NOTE].p_align = 4;
    s->ph[PH_STACK] = phdr(PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0);
    s->nh = (Elf64_Nhdr){.n_namesz = 6, .n_descsz = sizeof s->note, .n_type = GLINT_NOTE_ABI};
    memcpy(s->note_name, "glint", 6);
    s->nfns = 3;
    s->note = (struct glint_abi_note){GLINT_ABI_VERSION, sizeof(struct glint_fn_desc), RO_VA,
                                      RO_VA + 3 * sizeof(struct glint_fn_desc)};
    static const uint8_t add[] = {GLINT_I32, GLINT_I32}, echo[] = {GLINT_STRING};
    s->fns[0] = fn("Add", TEXT_VA, GLINT_I32, 2, add);
    s->fns[1] = fn("Echo", TEXT_VA + 0x10, GLINT_STRING, 1, echo);
    s->fns[2] = fn("_nop2", TEXT_VA + 0x20, GLINT_VOID, 0, NULL);
    s->size = FILE_SZ;
}

/* Serializes *s into buf; returns the file size. */
static size_t build(const struct spec *s)
{
    memset(buf, 0, sizeof buf);
    memcpy(buf, &s->eh, sizeof s->eh);
    memcpy(buf + sizeof s->eh, s->ph, s->nph * sizeof s->ph[0]);
    memset(buf + TEXT_OFF, 0x90, TEXT_SZ);
    memcpy(buf + RO_OFF, s->fns, s->nfns * sizeof s->fns[0]);
    memcpy(buf + NOTE_OFF, &s->nh, sizeof s->nh);
    memcpy(buf + NOTE_OFF + 12, s->note_name, 8);
    memcpy(buf + NOTE_OFF + 20, &s->note, sizeof s->note);
    memset(buf + DATA_OFF, 0xAB, DATA_FILESZ);
    return s->size;
}

static glint_status open_spec(const struct spec *s, glint_image **img, glint_error *err)
{
    return glint_image_open_memory(buf, build(s), img, err);
}

static void expect_bytes(const uint8_t *data, size_t len, glint_status want, const char *needle)
{
    glint_image *img = (glint_image *)&img;
    glint_error e;
    glint_status got = glint_image_open_memory(data, len, &img, &e);
    cr_assert_eq(got, want, "got %s, expected %s: %s", glint_status_name(got),
                 glint_status_name(want), e.message);
    cr_assert_null(img);
    cr_assert_eq(e.status, want);
    cr_assert(strstr(e.message, needle), "message \"%s\" does not contain \"%s\"", e.message,
              needle);
    cr_assert_null(strchr(e.message, '\n'));
}

static void expect(const struct spec *s, glint_status want, const char *needle)
{
    size_t len = build(s);
    expect_bytes(buf, len, want, needle);
}

#define BAD(name, needle, ...)                                                                  \
    Test(elf_bad, name)                                                                         \
    {                                                                                           \
        struct spec s;                                                                          \
        spec_default(&s);                                                                       \
        __VA_ARGS__;                                                                            \
        expect(&s, GLINT_E_BAD_IMAGE, needle);                                                  \
    }

#define BAD_ABI(name, needle, ...)                                                              \
    Test(elf_bad, name)                                                                         \
    {                                                                                           \
        struct spec s;                                                                          \
        spec_default(&s);                                                                       \
        __VA_ARGS__;                                                                            \
        expect(&s, GLINT_E_ABI, needle);                                                        \
    }

/* ---------------------------------------------------------------------------
 * The valid image.
 */
Test(elf, valid_image_parses)
{
    struct spec s;
    spec_default(&s);
    glint_image *img;
    glint_error e;
    cr_assert_eq(open_spec(&s, &img, &e), GLINT_OK, "%s", e.message);
    cr_assert_eq(img->nsegs, 3);
    cr_assert_eq(img->segs[0].vaddr, TEXT_VA);
    cr_assert_eq(img->segs[0].memsz, 0x1000, "memsz is rounded to pages");
    cr_assert_eq(img->segs[0].filesz, TEXT_SZ);
    cr_assert_eq(img->segs[1].flags, PF_R);
    cr_assert_eq(img->segs[2].flags, PF_R | PF_W);
    cr_assert_eq(img->segs[2].memsz, DATA_MEMSZ);
    cr_assert_eq(img->image_end, DATA_VA + DATA_MEMSZ);
    cr_assert_eq(img->entry, TEXT_VA + 0x40);
    cr_assert_eq(img->abi_version, GLINT_ABI_VERSION);

    cr_assert_eq(glint_image_function_count(img), 3);
    const glint_function *f = glint_image_function(img, 0);
    cr_assert_str_eq(f->name, "Add");
    cr_assert_eq(f->ret, GLINT_I32);
    cr_assert_eq(f->nparams, 2);
    cr_assert_eq(f->params[0], GLINT_I32);
    cr_assert_eq(f->params[1], GLINT_I32);
    cr_assert_eq(img->fn_entries[0], TEXT_VA);
    cr_assert_eq(img->fn_entries[1], TEXT_VA + 0x10);
    cr_assert_null(glint_image_function(img, 3));

    cr_assert_eq(glint_image_find(img, "Echo"), 1);
    cr_assert_eq(glint_image_find(img, "_nop2"), 2);
    cr_assert_eq(glint_image_find(img, "echo"), -1);
    cr_assert_eq(glint_image_find(img, ""), -1);
    cr_assert_eq(glint_image_find(img, NULL), -1);

    char text[128];
    glint_function_format(glint_image_function(img, 0), text, sizeof text);
    cr_assert_str_eq(text, "Add(int32, int32) -> int32");
    glint_function_format(glint_image_function(img, 1), text, sizeof text);
    cr_assert_str_eq(text, "Echo(string) -> string");
    glint_function_format(glint_image_function(img, 2), text, sizeof text);
    cr_assert_str_eq(text, "_nop2() -> void");
    glint_image_close(img);
}

Test(elf, names_are_copies_not_pointers_into_the_file)
{
    struct spec s;
    spec_default(&s);
    glint_image *img;
    cr_assert_eq(open_spec(&s, &img, NULL), GLINT_OK);
    const glint_function *f = glint_image_function(img, 1);
    cr_assert(f->name < (const char *)img->data || f->name >= (const char *)img->data + img->size);
    memset(img->data, 0, img->size); /* the table must not depend on the file copy */
    cr_assert_str_eq(f->name, "Echo");
    glint_image_close(img);
}

Test(elf, image_load_copies_segments)
{
    struct spec s;
    spec_default(&s);
    glint_image *img;
    cr_assert_eq(open_spec(&s, &img, NULL), GLINT_OK);
    size_t size = img->image_end;
    uint8_t *mem = calloc(1, size);
    glint_image_load(img, mem, size);
    cr_assert_eq(mem[TEXT_VA - 1], 0);
    cr_assert_eq(memcmp(mem + TEXT_VA, buf + TEXT_OFF, TEXT_SZ), 0);
    cr_assert_eq(mem[TEXT_VA + TEXT_SZ], 0, "text beyond filesz stays zero");
    cr_assert_eq(memcmp(mem + RO_VA, buf + RO_OFF, RO_SZ), 0);
    cr_assert_eq(mem[DATA_VA], 0xAB);
    cr_assert_eq(mem[DATA_VA + DATA_FILESZ - 1], 0xAB);
    cr_assert_eq(mem[DATA_VA + DATA_FILESZ], 0, ".bss stays zero");
    cr_assert_eq(mem[size - 1], 0);
    free(mem);
    glint_image_close(img);
}

Test(elf, empty_function_table_is_valid)
{
    struct spec s;
    spec_default(&s);
    s.nfns = 0;
    s.note.fn_table = s.note.fn_table_end = 0x5000; /* not even mapped: no bytes to read */
    glint_image *img;
    glint_error e;
    cr_assert_eq(open_spec(&s, &img, &e), GLINT_OK, "%s", e.message);
    cr_assert_eq(glint_image_function_count(img), 0);
    cr_assert_null(glint_image_function(img, 0));
    cr_assert_eq(glint_image_find(img, "Add"), -1);
    glint_image_close(img);
}

Test(elf, empty_load_segment_is_skipped)
{
    struct spec s;
    spec_default(&s);
    s.ph[s.nph++] = phdr(PT_LOAD, PF_R | PF_W, 0, 0, 0, 0);
    s.eh.e_phnum = (Elf64_Half)s.nph;
    glint_image *img;
    glint_error e;
    cr_assert_eq(open_spec(&s, &img, &e), GLINT_OK, "%s", e.message);
    cr_assert_eq(img->nsegs, 3);
    glint_image_close(img);
}

Test(elf, segments_are_sorted_and_other_headers_ignored)
{
    struct spec s;
    spec_default(&s);
    Elf64_Phdr t = s.ph[PH_TEXT];
    s.ph[PH_TEXT] = s.ph[PH_DATA];
    s.ph[PH_DATA] = t;
    s.ph[s.nph++] = phdr(PT_GNU_PROPERTY, PF_R, 0, 0, 0, 0);
    s.ph[s.nph++] = phdr(PT_PHDR, PF_R, 64, 0x40, 56, 56);
    s.ph[s.nph++] = phdr(PT_NULL, 0, 0, 0, 0, 0);
    s.eh.e_phnum = (Elf64_Half)s.nph;
    s.eh.e_ident[EI_OSABI] = ELFOSABI_GNU;
    glint_image *img;
    glint_error e;
    cr_assert_eq(open_spec(&s, &img, &e), GLINT_OK, "%s", e.message);
    cr_assert_eq(img->segs[0].vaddr, TEXT_VA);
    cr_assert_eq(img->segs[1].vaddr, RO_VA);
    cr_assert_eq(img->segs[2].vaddr, DATA_VA);
    glint_image_close(img);
}

/* Writes a note at buf[off] with alignment a; returns its padded size. */
static size_t put_note(size_t off, uint64_t a, const char *name, uint32_t type, const void *desc,
                       uint32_t descsz)
{
    uint32_t namesz = (uint32_t)strlen(name) + 1;
    Elf64_Nhdr nh = {namesz, descsz, type};
    memcpy(buf + off, &nh, sizeof nh);
    memcpy(buf + off + 12, name, namesz);
    size_t d = (12 + namesz + a - 1) / a * a;
    memcpy(buf + off + d, desc, descsz);
    return (d + descsz + a - 1) / a * a;
}

static void notes_test(uint64_t align)
{
    struct spec s;
    spec_default(&s);
    build(&s);
    memset(buf + NOTE_OFF, 0, 0x100);
    size_t n = put_note(NOTE_OFF, align, "GNU", 3, "abcde", 5); /* a foreign note first */
    n += put_note(NOTE_OFF + n, align, "glint", 7, "xyz", 3);     /* ours, another type */
    n += put_note(NOTE_OFF + n, align, "glint", GLINT_NOTE_ABI, &s.note, sizeof s.note);
    n += put_note(NOTE_OFF + n, align, "Go", 4, "", 0);
    Elf64_Phdr ph = phdr(PT_NOTE, PF_R, NOTE_OFF, RO_VA + 0x800, n, n);
    ph.p_align = align;
    memcpy(buf + 64 + PH_NOTE * sizeof ph, &ph, sizeof ph);
    glint_image *img;
    glint_error e;
    cr_assert_eq(glint_image_open_memory(buf, FILE_SZ, &img, &e), GLINT_OK, "align %llu: %s",
                 (unsigned long long)align, e.message);
    cr_assert_eq(glint_image_function_count(img), 3);
    glint_image_close(img);
}

Test(elf, notes_aligned_to_4_among_other_notes)
{
    notes_test(4);
}

Test(elf, notes_aligned_to_8_among_other_notes)
{
    notes_test(8);
}

Test(elf, open_memory_argument_errors)
{
    glint_error e;
    cr_assert_eq(glint_image_open_memory(buf, 10, NULL, &e), GLINT_E_INVALID);
    glint_image *img = (glint_image *)&img;
    cr_assert_eq(glint_image_open_memory(NULL, 10, &img, &e), GLINT_E_INVALID);
    cr_assert_null(img);
    cr_assert_eq(glint_image_open_memory(buf, 10, &img, NULL), GLINT_E_BAD_IMAGE);
    glint_image_close(NULL);
    cr_assert_eq(glint_image_function_count(NULL), 0);
}

/* ---------------------------------------------------------------------------
 * File size and ELF header.
 */
Test(elf_bad, empty)
{
    expect_bytes(buf, 0, GLINT_E_BAD_IMAGE, "empty");
}

Test(elf_bad, too_small)
{
    struct spec s;
    spec_default(&s);
    build(&s);
    expect_bytes(buf, 3, GLINT_E_BAD_IMAGE, "not an ELF file");
    expect_bytes(buf, 40, GLINT_E_BAD_IMAGE, "truncated");
}

Test(elf_bad, too_large)
{
    size_t len = GLINT_IMAGE_MAX_BYTES + 1u;
    uint8_t *big = calloc(1, len);
    cr_assert_not_null(big);
    expect_bytes(big, len, GLINT_E_BAD_IMAGE, "too large");
    free(big);
}

BAD(bad_magic, "not an ELF file (bad magic)", s.eh.e_ident[1] = 'X')
BAD(class32, "ELF class 1 is not ELF64", s.eh.e_ident[EI_CLASS] = ELFCLASS32)
BAD(big_endian, "not little-endian", s.eh.e_ident[EI_DATA] = ELFDATA2MSB)
BAD(ident_version, "identification version 2", s.eh.e_ident[EI_VERSION] = 2)
BAD(osabi, "OS ABI 9", s.eh.e_ident[EI_OSABI] = ELFOSABI_FREEBSD)
BAD(type_dyn, "ET_DYN", s.eh.e_type = ET_DYN)
BAD(type_rel, "ELF type 1 is not ET_EXEC", s.eh.e_type = ET_REL)
BAD(machine, "ELF machine 183 is not x86-64", s.eh.e_machine = EM_AARCH64)
BAD(version, "ELF version 0", s.eh.e_version = 0)
BAD(ehsize, "ELF header size 52", s.eh.e_ehsize = 52)
BAD(phentsize, "program header size 32", s.eh.e_phentsize = 32)
BAD(no_phdrs, "no program headers", s.eh.e_phnum = 0)
BAD(phnum_xnum, "PN_XNUM", s.eh.e_phnum = PN_XNUM)
BAD(phoff_beyond_file, "program header table", s.eh.e_phoff = FILE_SZ - 100)
BAD(phoff_overflow, "program header table", s.eh.e_phoff = UINT64_MAX - 8)
BAD(phnum_beyond_file, "lies outside the file", s.eh.e_phnum = 0xfff0)

/* ---------------------------------------------------------------------------
 * Program headers and segments.
 */
BAD(filesz_over_memsz, "ELF program header 2: file size 0x20 exceeds memory size 0x10",
    s.ph[PH_DATA].p_filesz = 0x20; s.ph[PH_DATA].p_memsz = 0x10)
BAD(segment_data_outside_file, "ELF program header 2: segment data",
    s.ph[PH_DATA].p_filesz = 0x20)
BAD(segment_offset_overflow, "outside the file",
    s.ph[PH_DATA].p_offset = UINT64_MAX & ~0xfffull)
BAD(unaligned_vaddr, "ELF program header 1: segment address 0x21010 is not page aligned",
    s.ph[PH_RO].p_vaddr += 0x10)
BAD(below_base, "segment address 0x1f000 is below the image base 0x20000",
    s.ph[PH_TEXT].p_vaddr = 0x1F000; s.eh.e_entry = 0x1F040)
/* An ABI 1 layout (image at 0x10000, now the boot info page) with an ABI 2 note. */
BAD(old_image_base, "ELF program header 0: segment address 0x10000 is below the image base 0x20000",
    s.ph[PH_TEXT].p_vaddr = 0x10000; s.eh.e_entry = 0x10040)
BAD(zero_vaddr, "below the image base", s.ph[PH_DATA].p_vaddr = 0)
BAD(beyond_memory_max, "beyond the guest memory limit",
    s.ph[PH_DATA].p_memsz = GLINT_MEMORY_MAX)
BAD(vaddr_beyond_memory_max, "beyond the guest memory limit",
    s.ph[PH_DATA].p_vaddr = GLINT_MEMORY_MAX)
BAD(vaddr_memsz_overflow, "beyond the guest memory limit",
    s.ph[PH_DATA].p_memsz = UINT64_MAX - 0x1000)
BAD(offset_not_congruent, "differ modulo the page size", s.ph[PH_RO].p_offset = RO_OFF + 8;
    s.ph[PH_RO].p_filesz = 0x100)
BAD(write_and_exec, "ELF program header 0: segment at 0x20000 is both writable and executable (W^X)",
    s.ph[PH_TEXT].p_flags = PF_R | PF_W | PF_X)
BAD(not_readable, "is not readable", s.ph[PH_TEXT].p_flags = PF_X)
BAD(unknown_flags, "unknown flags 0x10000004", s.ph[PH_RO].p_flags = PF_R | 0x10000000u)
BAD(overlap, "ELF program header 2: segment [0x22000, 0x24000) overlaps segment 1 [0x21000, 0x22800)",
    s.ph[PH_RO].p_memsz = 0x1800)
BAD(same_address, "overlaps", s.ph[PH_DATA].p_vaddr = TEXT_VA)
BAD(overlap_by_one_byte, "ELF program header 1: segment [0x21000, 0x22000) overlaps segment 0 "
                         "[0x20000, 0x21001)",
    s.ph[PH_TEXT].p_memsz = 0x1001)
BAD(too_many_segments, "more than 8 loadable segments", for (unsigned k = 0; k < 7; k++) {
    s.ph[s.nph++] = phdr(PT_LOAD, PF_R, 0, 0x30000 + k * 0x1000, 0, 0x1000);
} s.eh.e_phnum = (Elf64_Half)s.nph)
BAD(interp, "ELF program header 5: PT_INTERP", s.ph[s.nph++] = phdr(PT_INTERP, PF_R, 0, 0, 1, 1);
    s.eh.e_phnum = (Elf64_Half)s.nph)
BAD(dynamic, "PT_DYNAMIC", s.ph[PH_STACK].p_type = PT_DYNAMIC)
BAD(tls, "PT_TLS: thread-local storage", s.ph[PH_STACK].p_type = PT_TLS)
BAD(no_loadable_segment, "no loadable segment", s.ph[PH_TEXT].p_type = PT_NULL;
    s.ph[PH_RO].p_type = PT_NULL; s.ph[PH_DATA].p_type = PT_NULL)
BAD(entry_in_rodata, "ELF entry point 0x21000 is not inside an executable segment",
    s.eh.e_entry = RO_VA)
BAD(entry_in_bss, "entry point", s.ph[PH_DATA].p_flags = PF_R | PF_X;
    s.eh.e_entry = DATA_VA + 0x100)
BAD(entry_past_text, "entry point 0x20100", s.eh.e_entry = TEXT_VA + TEXT_SZ)
BAD(entry_zero, "entry point 0x0 ", s.eh.e_entry = 0)

/* ---------------------------------------------------------------------------
 * The ABI note.
 */
Test(elf_bad, foreign_elf_is_told_it_lacks_the_note)
{
    struct spec s;
    spec_default(&s);
    s.ph[PH_NOTE].p_type = PT_NULL;
    s.ph[PH_STACK].p_type = PT_TLS; /* the note is checked before the segments */
    expect(&s, GLINT_E_ABI, "no glint ABI note: was this built with glint-cc?");
}

BAD_ABI(note_wrong_owner, "no glint ABI note", memcpy(s.note_name, "glinx", 6))
BAD_ABI(note_owner_without_nul, "no glint ABI note", s.nh.n_namesz = 5)
BAD_ABI(note_wrong_type, "no glint ABI note", s.nh.n_type = 1)
BAD_ABI(abi_version_newer, "guest ABI version 3, host supports 2", s.note.abi_version = 3)
BAD_ABI(abi_version_zero, "guest ABI version 0, host supports 2", s.note.abi_version = 0)
/* A guest built for ABI 1 (boot info at 0xA000, image from 0x10000) is refused. */
BAD_ABI(abi_version_1, "guest ABI version 1, host supports 2", s.note.abi_version = 1)
BAD(note_desc_size, "glint ABI note descriptor is 16 bytes, expected 24", s.nh.n_descsz = 16)
BAD(fn_desc_size, "function descriptor size 64, expected 96", s.note.fn_desc_size = 64)
BAD(note_namesz_huge, "name (4294967295 bytes) overruns", s.nh.n_namesz = UINT32_MAX)
BAD(note_descsz_huge, "descriptor (4294967295 bytes) overruns", s.nh.n_descsz = UINT32_MAX)
BAD(note_header_truncated, "truncated note header", s.ph[PH_NOTE].p_filesz = NOTE_SZ + 4)
BAD(note_segment_outside_file, "ELF program header 3: notes",
    s.ph[PH_NOTE].p_offset = FILE_SZ - 8)
BAD(note_segment_offset_overflow, "lie outside the file", s.ph[PH_NOTE].p_offset = UINT64_MAX)

Test(elf_bad, duplicate_note)
{
    struct spec s;
    spec_default(&s);
    s.ph[PH_STACK] = s.ph[PH_NOTE];
    expect(&s, GLINT_E_BAD_IMAGE, "ELF program header 4: a second glint ABI note");
}

/* ---------------------------------------------------------------------------
 * The function table.
 */
BAD(table_end_below_start, "function table end 0x21000 is below its start 0x21060",
    s.note.fn_table = RO_VA + 96; s.note.fn_table_end = RO_VA)
BAD(table_size_not_multiple, "function table size 100 is not a multiple of 96",
    s.note.fn_table_end = RO_VA + 100)
BAD(table_too_many, "function table has 1025 entries, at most 1024",
    s.note.fn_table_end = RO_VA + 1025 * 96)
BAD(table_beyond_segment_file, "is not inside the file data of a loadable segment",
    s.note.fn_table_end = RO_VA + 96 * 43)
BAD(table_in_bss, "not inside the file data", s.note.fn_table = DATA_VA + 0x1000;
    s.note.fn_table_end = DATA_VA + 0x1000 + 96)
BAD(table_unmapped, "function table [0x5000, 0x5060)", s.note.fn_table = 0x5000;
    s.note.fn_table_end = 0x5060)
BAD(table_at_top_of_address_space, "not inside", s.note.fn_table = UINT64_MAX - 191;
    s.note.fn_table_end = UINT64_MAX - 95)
BAD(table_in_writable_segment, "is in a writable segment", s.ph[PH_RO].p_flags = PF_R | PF_W)
BAD(name_not_terminated, "function table entry 1: name is not NUL-terminated within 64 bytes",
    memset(s.fns[1].name, 'a', sizeof s.fns[1].name))
BAD(name_empty, "function table entry 2: empty name", s.fns[2].name[0] = 0)
BAD(name_leading_digit, "byte 0x31 at position 0", strcpy(s.fns[0].name, "1abc"))
BAD(name_dash, "entry 1: byte 0x2d at position 2", strcpy(s.fns[1].name, "ab-c"))
BAD(name_newline, "byte 0x0a at position 1", strcpy(s.fns[1].name, "a\nb"))
BAD(name_high_byte, "byte 0xc3", strcpy(s.fns[1].name, "caf\xc3\xa9"))
BAD(duplicate_names, "function table entries 0 and 2: duplicate name Add",
    strcpy(s.fns[2].name, "Add"))
BAD(bad_return_type, "function table entry 1 (Echo): invalid return type 10",
    s.fns[1].ret = GLINT_TYPE_COUNT)
BAD(too_many_params, "(Echo): 17 parameters, at most 16", s.fns[1].nparams = 17)
BAD(void_param, "(Add): parameter 1 has the void type 0", s.fns[0].params[1] = GLINT_VOID)
BAD(invalid_param, "(Add): parameter 0 has invalid type 200", s.fns[0].params[0] = 200)
BAD(fn_entry_in_rodata, "function table entry 2 (_nop2): entry point 0x21000 is not inside an "
                        "executable segment",
    s.fns[2].entry = RO_VA)
BAD(fn_entry_zero, "entry point 0x0 is not", s.fns[0].entry = 0)

Test(elf, sixteen_params_and_all_types)
{
    struct spec s;
    spec_default(&s);
    s.fns[0].nparams = 16;
    for (unsigned k = 0; k < 16; k++)
        s.fns[0].params[k] = (uint8_t)(1 + k % 9);
    s.fns[0].ret = GLINT_BYTES;
    glint_image *img;
    glint_error e;
    cr_assert_eq(open_spec(&s, &img, &e), GLINT_OK, "%s", e.message);
    char text[256];
    size_t n = glint_function_format(glint_image_function(img, 0), text, sizeof text);
    cr_assert_str_eq(text, "Add(bool, int32, uint32, int64, uint64, float, double, string, bytes, "
                           "bool, int32, uint32, int64, uint64, float, double) -> bytes");
    cr_assert_eq(n, strlen(text));
    glint_image_close(img);
}

/* ---------------------------------------------------------------------------
 * Every truncation, and random damage: errors or OK, never a crash.
 */
Test(elf_fuzz, truncated_at_every_length)
{
    struct spec s;
    spec_default(&s);
    size_t full = build(&s);
    for (size_t len = 0; len < full; len++) {
        glint_image *img;
        glint_error e;
        glint_status st = glint_image_open_memory(buf, len, &img, &e);
        cr_assert(st == GLINT_E_BAD_IMAGE || st == GLINT_E_ABI, "length %zu: %s", len,
                  glint_status_name(st));
        cr_assert_null(img);
        cr_assert_neq(e.message[0], '\0');
    }
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Invariants of any image the parser accepts. */
static void check_accepted(const glint_image *img)
{
    cr_assert(img->nsegs >= 1 && img->nsegs <= GLINT_IMAGE_MAX_SEGS);
    for (size_t k = 0; k < img->nsegs; k++) {
        const struct glint_segment *g = &img->segs[k];
        cr_assert(g->vaddr >= GLINT_IMAGE_BASE && g->vaddr % GLINT_PAGE_SIZE == 0);
        cr_assert(g->memsz % GLINT_PAGE_SIZE == 0 && g->filesz <= g->memsz);
        cr_assert(g->vaddr + g->memsz <= img->image_end);
        cr_assert(!(g->flags & PF_W) || !(g->flags & PF_X));
        cr_assert(g->filesz == 0 || g->offset + g->filesz <= img->size);
        if (k)
            cr_assert(img->segs[k - 1].vaddr + img->segs[k - 1].memsz <= g->vaddr);
    }
    cr_assert(img->image_end <= GLINT_MEMORY_MAX);
    for (size_t i = 0; i < img->nfuncs; i++) {
        cr_assert(img->funcs[i].nparams <= GLINT_MAX_PARAMS);
        cr_assert(strlen(img->funcs[i].name) <= GLINT_MAX_NAME);
    }
    if (img->image_end <= (16u << 20)) {
        uint8_t *mem = calloc(1, img->image_end);
        glint_image_load(img, mem, img->image_end);
        free(mem);
    }
}

static void flip_and_parse(const uint8_t *orig, size_t len, size_t lo, size_t hi, int rounds)
{
    static uint8_t copy[BUF_MAX];
    size_t ok = 0;
    for (int r = 0; r < rounds; r++) {
        memcpy(copy, orig, len);
        int flips = 1 + (int)(rng() % 4);
        for (int f = 0; f < flips; f++) {
            uint64_t x = rng();
            size_t at = lo + (size_t)(x % (hi - lo));
            if (x >> 63)
                copy[at] ^= (uint8_t)(1u << ((x >> 8) & 7)); /* one bit */
            else
                copy[at] = (uint8_t)(x >> 16); /* a random byte */
        }
        glint_image *img;
        glint_error e;
        glint_status st = glint_image_open_memory(copy, len, &img, &e);
        cr_assert(st == GLINT_OK || st == GLINT_E_BAD_IMAGE || st == GLINT_E_ABI,
                  "round %d: %s: %s", r, glint_status_name(st), e.message);
        if (st == GLINT_OK) {
            ok++;
            check_accepted(img);
        } else {
            cr_assert_null(img);
            cr_assert_neq(e.message[0], '\0');
            cr_assert_null(strchr(e.message, '\n'));
        }
        glint_image_close(img);
    }
    cr_log_info("%zu of %d damaged images in [0x%zx, 0x%zx) still valid", ok, rounds, lo, hi);
}

Test(elf_fuzz, random_byte_flips)
{
    struct spec s;
    spec_default(&s);
    size_t len = build(&s);
    static uint8_t orig[BUF_MAX];
    memcpy(orig, buf, len);
    rng_state = 0x5eed1234abcdull;
    flip_and_parse(orig, len, 0, 64 + PH_COUNT * sizeof(Elf64_Phdr), 20000); /* headers */
    flip_and_parse(orig, len, RO_OFF, RO_OFF + 3 * 96, 20000);                 /* table */
    flip_and_parse(orig, len, NOTE_OFF, NOTE_OFF + NOTE_SZ, 10000);            /* note */
    flip_and_parse(orig, len, 0, len, 10000);                                   /* anywhere */
}

/* ---------------------------------------------------------------------------
 * glint_image_open_file.
 */
static char tmpdir[64];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/glint-elf-test-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        cr_log_warn("could not remove %s", tmpdir);
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(data, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

static void expect_file(const char *path, glint_status want, const char *needle)
{
    glint_image *img = (glint_image *)&img;
    glint_error e;
    glint_status st = glint_image_open_file(path, &img, &e);
    cr_assert_eq(st, want, "%s: got %s: %s", path, glint_status_name(st), e.message);
    cr_assert_null(img);
    cr_assert(strstr(e.message, path), "message \"%s\" does not name the path", e.message);
    cr_assert(strstr(e.message, needle), "message \"%s\" does not contain \"%s\"", e.message,
              needle);
}

Test(elf_file, errors_name_the_file_and_the_problem, .init = make_tmpdir, .fini = remove_tmpdir)
{
    char path[128];
    snprintf(path, sizeof path, "%s/missing.elf", tmpdir);
    expect_file(path, GLINT_E_IO, "No such file or directory");
    expect_file(tmpdir, GLINT_E_IO, "is a directory");
    snprintf(path, sizeof path, "%s/empty.elf", tmpdir);
    write_file(path, "", 0);
    expect_file(path, GLINT_E_BAD_IMAGE, "empty");
    snprintf(path, sizeof path, "%s/text.elf", tmpdir);
    write_file(path, "hello, world\n", 13);
    expect_file(path, GLINT_E_BAD_IMAGE, "not an ELF file (bad magic)");
    struct spec s;
    spec_default(&s);
    s.eh.e_machine = EM_AARCH64;
    snprintf(path, sizeof path, "%s/arm.elf", tmpdir);
    write_file(path, buf, build(&s));
    expect_file(path, GLINT_E_BAD_IMAGE, ": ELF machine 183 is not x86-64");
    expect_file("/dev/null", GLINT_E_IO, "not a regular file");
    snprintf(path, sizeof path, "%s/fifo", tmpdir);
    cr_assert_eq(mkfifo(path, 0600), 0);
    expect_file(path, GLINT_E_IO, "not a regular file");
    glint_image *img;
    glint_error e;
    cr_assert_eq(glint_image_open_file(NULL, &img, &e), GLINT_E_INVALID);
    cr_assert_null(img);
    cr_assert_eq(glint_image_open_file(path, NULL, &e), GLINT_E_INVALID);
}

Test(elf_file, opens_a_valid_file, .init = make_tmpdir, .fini = remove_tmpdir)
{
    struct spec s;
    spec_default(&s);
    char path[128];
    snprintf(path, sizeof path, "%s/ok.elf", tmpdir);
    write_file(path, buf, build(&s));
    glint_image *img;
    glint_error e;
    cr_assert_eq(glint_image_open_file(path, &img, &e), GLINT_OK, "%s", e.message);
    cr_assert_eq(glint_image_function_count(img), 3);
    cr_assert_eq(img->size, FILE_SZ);
    glint_image_close(img);
}

/* ---------------------------------------------------------------------------
 * Guests built by glint-cc, when the build tree has them.
 */
static int parse_real_guest(const char *path)
{
    glint_image *img;
    glint_error e;
    glint_status st = glint_image_open_file(path, &img, &e);
    cr_expect_eq(st, GLINT_OK, "%s", e.message);
    if (st)
        return 0;
    check_accepted(img);
    cr_expect_gt(glint_image_function_count(img), 0, "%s has no functions", path);
    glint_image_close(img);
    return 1;
}

Test(elf, real_guests_from_glint_cc)
{
    static const char *dirs[] = {GLINT_BUILD_DIR "/guests", GLINT_BUILD_DIR "/examples/hello",
                                 GLINT_BUILD_DIR "/examples/types"};
    int n = 0;
    for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++) {
        DIR *dir = opendir(dirs[d]);
        if (!dir)
            continue;
        struct dirent *ent;
        while ((ent = readdir(dir))) {
            size_t l = strlen(ent->d_name);
            if (l < 4 || strcmp(ent->d_name + l - 4, ".elf") != 0)
                continue;
            char path[512];
            snprintf(path, sizeof path, "%s/%s", dirs[d], ent->d_name);
            n += parse_real_guest(path);
        }
        closedir(dir);
    }
    if (n == 0)
        cr_skip_test("no guests built by glint-cc under %s", GLINT_BUILD_DIR);
    cr_log_info("parsed %d guests built by glint-cc", n);
}

/* ---------------------------------------------------------------------------
 * Values and formatting.
 */
Test(elf_value, type_names)
{
    static const char *want[] = {"void",  "bool",   "int32",  "uint32", "int64",
                                 "uint64", "float", "double", "string", "bytes"};
    for (unsigned t = 0; t < GLINT_TYPE_COUNT; t++)
        cr_assert_str_eq(glint_type_name((glint_type)t), want[t]);
    cr_assert_str_eq(glint_type_name((glint_type)GLINT_TYPE_COUNT), "?");
    cr_assert_str_eq(glint_type_name((glint_type)-1), "?");
}

Test(elf_value, constructors)
{
    glint_value v = glint_cstr("abc");
    cr_assert_eq(v.type, GLINT_STRING);
    cr_assert_eq(v.v.str.len, 3);
    v = glint_str("a\0b", 3);
    cr_assert_eq(v.v.str.len, 3);
    v = glint_cstr(NULL);
    cr_assert_eq(v.v.str.len, 0);
    cr_assert_not_null(v.v.str.ptr);
    static const uint8_t b[] = {1, 2};
    v = glint_bytes(b, 2);
    cr_assert_eq(v.type, GLINT_BYTES);
    cr_assert_eq(v.v.bytes.ptr, b);
    cr_assert_eq(v.v.bytes.len, 2);
}

Test(elf_value, format_truncates_like_snprintf)
{
    glint_function f = {.name = "Name", .ret = GLINT_STRING, .nparams = 2,
                        .params = {GLINT_I32, GLINT_STRING}};
    const char *full = "Name(int32, string) -> string";
    char text[64];
    cr_assert_eq(glint_function_format(&f, text, sizeof text), strlen(full));
    cr_assert_str_eq(text, full);
    for (size_t size = 0; size <= strlen(full) + 1; size++) {
        memset(text, 'x', sizeof text);
        cr_assert_eq(glint_function_format(&f, text, size), strlen(full));
        if (size) {
            cr_assert_eq(strlen(text), size - 1);
            cr_assert_eq(strncmp(text, full, size - 1), 0);
        }
        cr_assert_eq(text[size], 'x', "no write past the buffer");
    }
    cr_assert_eq(glint_function_format(&f, NULL, 0), strlen(full));
    f.nparams = 0;
    f.ret = GLINT_I32;
    glint_function_format(&f, text, sizeof text);
    cr_assert_str_eq(text, "Name() -> int32");
    f.params[0] = (glint_type)77;
    f.nparams = 1;
    f.ret = GLINT_VOID;
    glint_function_format(&f, text, sizeof text);
    cr_assert_str_eq(text, "Name(?) -> void");
}
