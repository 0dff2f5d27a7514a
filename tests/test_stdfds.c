/*
 * test_stdfds.c - makes the test binary safe to start with a closed
 * standard input, output or error (CI runs it with no standard input).
 *
 * Criterion's runner creates its own descriptors (eventfds, sockets) before
 * any test runs.  With fd 0 closed, the first of them becomes fd 0, which
 * every worker and every program a test starts then inherits as "standard
 * input"; one such run of the suite hung after its last test.  This
 * constructor runs before Criterion's main and puts /dev/null on any of the
 * three that is closed, so nothing of the runner's can land there.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

__attribute__((constructor(101))) static void tests_open_std_fds(void)
{
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
            continue;
        /* Lower ones are open by now, so open() returns fd itself. */
        (void)open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
    }
}
