/* assert.h - glint guest libc.  A failed assert() aborts the guest with
 * "file:line: assertion failed: EXPR".  Deliberately no include guard:
 * NDEBUG may change between inclusions. */
#undef assert

#ifdef NDEBUG
#define assert(e) ((void)0)
#else
__attribute__((noreturn)) void glint__assert_fail(const char *expr, const char *file, int line,
                                                  const char *func);
#define assert(e) ((e) ? (void)0 : glint__assert_fail(#e, __FILE__, __LINE__, __func__))
#endif

#if !defined(__cplusplus) && defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L && \
    __STDC_VERSION__ < 202311L
#undef static_assert
#define static_assert _Static_assert
#endif
