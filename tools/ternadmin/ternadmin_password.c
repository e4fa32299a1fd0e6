/*
 * ternadmin_password - read a new password: from the terminal without echo
 * (asked twice), or as one line of standard input when that is not a
 * terminal (for scripts). Never from the command line.
 *
 * On a terminal the line is read one byte at a time with echo, line editing
 * and signal keys off, so that the terminal is always restored: ^C cancels,
 * ^D on an empty line ends, backspace and ^U edit. SIGHUP, SIGTERM and
 * SIGQUIT are held back while the terminal is changed.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "mail/password.h"
#include "tools/ternadmin/ternadmin.h"
#include "util/mymalloc.h"

#define KEY_INTR 0x03
#define KEY_EOF 0x04
#define KEY_BS 0x08
#define KEY_KILL 0x15
#define KEY_DEL 0x7f

/* Buffer size: the longest password, a byte more to notice a longer one, and the NUL. */
#define PW_BUF (PASSWORD_MAX + 2)

/* read_byte - one byte from fd; 1, 0 at end of input, -1 on error. */
static int read_byte(int fd, unsigned char *c)
{
	ssize_t n;

	while ((n = read(fd, c, 1)) < 0 && errno == EINTR)
		;
	return n < 0 ? -1 : (int)n;
}

/* edit_line - read a line typed without echo into buf; 0, or -1 with *error_r. */
static int edit_line(int fd, char *buf, char **error_r)
{
	size_t len = 0;
	unsigned char c;
	int n;

	for (;;) {
		if ((n = read_byte(fd, &c)) <= 0) {
			*error_r = xasprintf("reading the password: %s",
					     n < 0 ? strerror(errno) : "end of input");
			return -1;
		}
		if (c == '\r' || c == '\n')
			break;
		if (c == KEY_INTR) {
			*error_r = xstrdup("cancelled");
			return -1;
		}
		if (c == KEY_EOF && len == 0) {
			*error_r = xstrdup("reading the password: end of input");
			return -1;
		}
		if (c == KEY_BS || c == KEY_DEL) {
			/* Remove a whole UTF-8 character. */
			while (len > 0 && ((unsigned char)buf[--len] & 0xc0) == 0x80)
				;
		} else if (c == KEY_KILL) {
			len = 0;
		} else if (c >= 0x20 || c == '\t') {
			if (len == PW_BUF - 2) {
				*error_r = xasprintf("password longer than %d bytes", PASSWORD_MAX);
				return -1;
			}
			buf[len++] = (char)c;
		}
	}
	buf[len] = '\0';
	return 0;
}

/* say - write text to standard error, where prompts go; a failure changes nothing. */
static void say(const char *text)
{
	ssize_t n = write(STDERR_FILENO, text, strlen(text));

	(void)n;
}

/* prompt_line - prompt on the terminal fd and read a line without echo. */
static int prompt_line(int fd, const char *prompt, char *buf, char **error_r)
{
	struct termios saved, raw;
	sigset_t block, old;
	int ret;

	if (tcgetattr(fd, &saved) < 0) {
		*error_r = xasprintf("terminal: %s", strerror(errno));
		return -1;
	}
	sigemptyset(&block);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGQUIT);
	sigprocmask(SIG_BLOCK, &block, &old);
	raw = saved;
	raw.c_lflag &= ~(tcflag_t)(ECHO | ICANON | ISIG | IEXTEN);
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	ret = -1;
	if (tcsetattr(fd, TCSAFLUSH, &raw) < 0) {
		*error_r = xasprintf("terminal: %s", strerror(errno));
	} else {
		say(prompt);
		ret = edit_line(fd, buf, error_r);
		tcsetattr(fd, TCSAFLUSH, &saved);
		say("\n");
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return ret;
}

/* read_tty - the password typed twice on the terminal. */
static int read_tty(char *buf, char **error_r)
{
	char *again = xmalloc(PW_BUF);
	int ret = prompt_line(STDIN_FILENO, "New password: ", buf, error_r);

	if (ret == 0 && buf[0] != '\0') {
		ret = prompt_line(STDIN_FILENO, "Retype new password: ", again, error_r);
		if (ret == 0 && strcmp(buf, again) != 0) {
			*error_r = xstrdup("the passwords do not match");
			ret = -1;
		}
	}
	explicit_bzero(again, PW_BUF);
	free(again);
	return ret;
}

/* read_stdin - one line of standard input, without its line end. */
static int read_stdin(char *buf, char **error_r)
{
	size_t len = 0;
	unsigned char c;
	int n;

	while ((n = read_byte(STDIN_FILENO, &c)) > 0 && c != '\n') {
		if (c == '\0') {
			*error_r = xstrdup("the password holds a NUL byte");
			return -1;
		}
		if (len == PW_BUF - 2) {
			*error_r = xasprintf("password longer than %d bytes", PASSWORD_MAX);
			return -1;
		}
		buf[len++] = (char)c;
	}
	if (n < 0) {
		*error_r =
		    xasprintf("reading the password from standard input: %s", strerror(errno));
		return -1;
	}
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	return 0;
}

int ta_read_password(char **password_r, char **error_r)
{
	char *buf = xmalloc(PW_BUF);
	int ret;

	*password_r = NULL;
	ret = isatty(STDIN_FILENO) ? read_tty(buf, error_r) : read_stdin(buf, error_r);
	if (ret == 0 && buf[0] == '\0') {
		*error_r = xstrdup("an empty password is refused");
		ret = -1;
	}
	if (ret == 0)
		*password_r = xstrdup(buf);
	explicit_bzero(buf, PW_BUF);
	free(buf);
	return ret;
}
