/*
 * trap_priv.c - least privilege for the trap: the user to become, the
 * chroot and the check that what the trap needs lies inside it.
 *
 * The order (OpenBSD spamd, Postfix single_server): bind and open first,
 * then chroot, then setgroups/setgid/setuid, then check that the change
 * stuck (getting root back must fail). Errors are returned, never fatal
 * here.
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "source/trap_int.h"
#include "util/buf.h"
#include "util/banned.h"

bool trap_user_lookup(const char *name, struct trap_user *u, char *err, size_t errlen)
{
	struct passwd *pw;

	memset(u, 0, sizeof(*u));
	errno = 0;
	pw = getpwnam(name);
	if (!pw) {
		snprintf(err, errlen, "user '%s': %s", name, errno ? strerror(errno) : "no such user");
		return false;
	}
	u->set = true;
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	snprintf(u->name, sizeof(u->name), "%s", name);
	return true;
}

bool trap_drop_privileges(const struct trap_user *u, const char *chroot_dir, char *err,
			  size_t errlen)
{
	if (chroot_dir) {
		if (chroot(chroot_dir) != 0 || chdir("/") != 0) {
			snprintf(err, errlen, "chroot %s: %s", chroot_dir, strerror(errno));
			return false;
		}
	}
	if (!u || !u->set)
		return true;
	if (getuid() == u->uid && geteuid() == u->uid && getgid() == u->gid &&
	    getegid() == u->gid)
		return true;          /* already that user */
	if (setgroups(1, &u->gid) != 0 || setgid(u->gid) != 0 || setuid(u->uid) != 0) {
		snprintf(err, errlen, "cannot become user %s: %s", u->name, strerror(errno));
		return false;
	}
	if (getuid() != u->uid || geteuid() != u->uid || getgid() != u->gid ||
	    getegid() != u->gid) {
		snprintf(err, errlen, "cannot become user %s: the change did not stick", u->name);
		return false;
	}
	if (u->uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		snprintf(err, errlen, "dropped to user %s but could get root back", u->name);
		return false;
	}
#ifdef SPAMTIDE_SANITIZE
	/* LeakSanitizer inspects the process with ptrace, which a process
	 * that changed its user may not allow; test builds only */
	prctl(PR_SET_DUMPABLE, 1);
#endif
	return true;
}

/* real: the real path of p, or of its closest existing parent plus the rest */
static bool real(const char *p, struct buf *out, char *err, size_t errlen)
{
	char resolved[PATH_MAX];
	struct buf path = BUF_INIT, rest = BUF_INIT;
	bool ok = false;

	buf_addstr(&path, p);
	for (;;) {
		char *slash;

		if (realpath(path.data[0] ? path.data : ".", resolved)) {
			buf_reset(out);
			buf_addstr(out, resolved);
			if (rest.len) {
				if (out->len == 0 || out->data[out->len - 1] != '/')
					buf_addch(out, '/');
				buf_addstr(out, rest.data);
			}
			ok = true;
			break;
		}
		if (errno != ENOENT) {
			snprintf(err, errlen, "%s: %s", p, strerror(errno));
			break;
		}
		/* drop the last component onto rest */
		while (path.len > 1 && path.data[path.len - 1] == '/')
			buf_setlen(&path, path.len - 1);
		slash = strrchr(path.data, '/');
		{
			struct buf r = BUF_INIT;
			const char *last = slash ? slash + 1 : path.data;

			if (strcmp(last, "..") == 0 || strcmp(last, ".") == 0) {
				snprintf(err, errlen, "%s: %s", p, strerror(ENOENT));
				buf_free(&r);
				break;
			}
			buf_addstr(&r, last);
			if (rest.len) {
				buf_addch(&r, '/');
				buf_addstr(&r, rest.data);
			}
			buf_reset(&rest);
			buf_addstr(&rest, r.data);
			buf_free(&r);
		}
		if (!slash)
			buf_reset(&path);
		else if (slash == path.data)
			buf_setlen(&path, 1);
		else
			buf_setlen(&path, (size_t)(slash - path.data));
	}
	buf_free(&path);
	buf_free(&rest);
	return ok;
}

bool trap_path_inside(const char *root, const char *path, char *inside, size_t insidelen,
		      char *err, size_t errlen)
{
	struct buf r = BUF_INIT, p = BUF_INIT;
	bool ok = false;

	if (!real(root, &r, err, errlen) || !real(path, &p, err, errlen))
		goto out;
	if (strcmp(r.data, "/") == 0) {
		snprintf(inside, insidelen, "%s", p.data);
		ok = true;
	} else if (strncmp(p.data, r.data, r.len) == 0 &&
		   (p.data[r.len] == '/' || p.data[r.len] == '\0')) {
		snprintf(inside, insidelen, "%s", p.data[r.len] ? p.data + r.len : "/");
		ok = true;
	} else {
		snprintf(err, errlen, "%s (%s) is not inside the chroot %s (%s)", path, p.data,
			 root, r.data);
	}
out:
	buf_free(&r);
	buf_free(&p);
	return ok;
}

const char *trap_db_path(const char *url)
{
	if (strncmp(url, "sqlite:", 7) == 0)
		return url + 7;
	if (strstr(url, "://"))
		return NULL;
	return url;
}

bool trap_check_chroot(const struct trap_options *opt, char *err, size_t errlen)
{
	char inside[PATH_MAX];
	struct stat st;
	const char *db;

	if (!opt->chroot)
		return true;
	if (stat(opt->chroot, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "--chroot %s: not a directory", opt->chroot);
		return false;
	}
	if (opt->spool && !trap_path_inside(opt->chroot, opt->spool, inside, sizeof(inside),
					    err, errlen))
		return false;
	db = opt->db ? trap_db_path(opt->db) : NULL;
	if (db && !trap_path_inside(opt->chroot, db, inside, sizeof(inside), err, errlen))
		return false;
	if (opt->kb && !trap_path_inside(opt->chroot, opt->kb, inside, sizeof(inside), err, errlen))
		return false;
	return true;
}
