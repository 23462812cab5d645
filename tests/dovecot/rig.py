"""Two real Dovecot instances on loopback for integration tests, the demo and the bench.

    from rig import Rig
    import corpus
    with Rig() as rig:
        rig.add_source_user('alice', 'alicepw')
        rig.load_source('alice', corpus.edge_corpus('small'))
        rig.add_dest_user('alice', quota='10M', extra={'migrate_source_password': 'alicepw'})
        r = rig.doveadm('migrate', '-u', 'alice', ..., conf='dst')
        assert rig.messages('dst', 'alice') ...

SOURCE: imap (plain + STARTTLS) and imaps, separator '/' (maildir LAYOUT=fs, so names may
contain '.') or '.' with prefix "INBOX." (Courier/Cyrus style, Maildir++), special-use optional.
DEST: maildir:~/Maildir (Maildir++, separator '/'), quota (count backend, vsizes), special-use
Sent/Drafts/Trash/Junk/Archive, passwd-file userdb with extra fields plus a static fallback,
doveadm HTTP API, the project's mail plugins via mail_plugin_dir, and the project's doveadm
module via a private bind mount over Dovecot's hard-wired doveadm module directory.

Everything lives in one temp dir ($RIG, removed on exit unless MIGRATE_KEEP_RIG=1); ports are
free loopback ports picked at start, so rigs can run in parallel (ctest -j). Should the process
holding a rig die without close() (SIGKILL, a ctest timeout), the rig's watchdog process stops its
servers and background runs (the directory stays, with the logs). Needs root
(unshare -m + mount --bind, chown to the mail uid). Python stdlib only.
"""

import atexit
import base64
import glob
import hashlib
import imaplib
import json
import os
import poplib
import random
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request

DOVECOT = '/usr/sbin/dovecot'
DOVEADM = '/usr/bin/doveadm'
STOCK_MODULE_DIR = '/usr/lib/dovecot/modules'
DOVEADM_MODULE_DIR = STOCK_MODULE_DIR + '/doveadm'   # hard-wired in doveadm (notes 0.1)
MAIL_UID = MAIL_GID = 20001
LOCALHOST = '127.0.0.1'

# Run a binary with `$0` (a directory) bind-mounted over DOVEADM_MODULE_DIR in a private mount
# namespace: that is the only way to make doveadm load a module that is not installed.
# Dovecot 2.4's config process learns plugin settings from the modules in SETTINGS_MODULE_DIR:
# the rig's settings-modules directory beside $0 (when there is one) goes over it the same way.
SETTINGS_MODULE_DIR = STOCK_MODULE_DIR + '/settings'
_BIND_MODULES = ('mount --bind "$0" ' + DOVEADM_MODULE_DIR + ' && { [ ! -d "$0/../settings-modules" ] || '
                 'mount --bind "$0/../settings-modules" ' + SETTINGS_MODULE_DIR + '; }')
BIND_SNIPPET = _BIND_MODULES + ' && exec "$@"'
# The same, with the rig's hosts file ($1) over /etc/hosts (names of the source, src_names).
BIND_HOSTS_SNIPPET = _BIND_MODULES + ' && mount --bind "$1" /etc/hosts && shift && exec "$@"'

SRC_SPECIAL_USE = {'Sent': r'\Sent', 'Drafts': r'\Drafts', 'Trash': r'\Trash', 'Junk': r'\Junk'}
DST_SPECIAL_USE = {'Sent': r'\Sent', 'Drafts': r'\Drafts', 'Trash': r'\Trash', 'Junk': r'\Junk',
                   'Archive': r'\Archive'}

def _dovecot_version():
    try:
        out = subprocess.run([DOVECOT, '--version'], capture_output=True, text=True, timeout=10).stdout
    except OSError:
        return ''
    return out.strip().split(' ')[0]


# The Dovecot the rig runs (the installed one). The rig writes a 2.3 or a 2.4 configuration from
# the same description; the helpers below do the same for the tests' own snippets.
DOVECOT_VERSION = _dovecot_version()
V24 = DOVECOT_VERSION.startswith('2.4')

_VARS24 = (('%%', '\0'), ('%n', '%{user | username}'), ('%d', '%{user | domain}'),
           ('%u', '%{user}'), ('%h', '%{home}'), ('%w', '%{password}'), ('\0', '%%'))


def conf_vars(text):
    """A 2.3 %-variable string as this Dovecot writes it (%n -> %{user | username} on 2.4)."""
    if not V24:
        return text
    for old, new in _VARS24:
        text = text.replace(old, new)
    return text


def mail_location_conf(location, indent=''):
    """`mail_location = driver:path[:KEY=VALUE...]` as this Dovecot configures it (2.4:
    mail_driver, mail_path, mailbox_list_layout, mail_inbox_path, mail_index_path ...)."""
    if not V24:
        return '%smail_location = %s\n' % (indent, location)
    return ''.join('%s%s = %s\n' % (indent, k, v) for k, v in mail_location_fields(location))


def mail_location_fields(location):
    """The 2.4 settings of a 2.3 mail_location string, as (key, value) pairs."""
    driver, _, rest = location.partition(':')
    parts = rest.split(':') if rest else []
    fields = [('mail_driver', driver)]
    if parts:
        fields.append(('mail_path', conf_vars(parts[0])))
    keys = {'LAYOUT': 'mailbox_list_layout', 'INBOX': 'mail_inbox_path', 'INDEX': 'mail_index_path',
            'CONTROL': 'mail_control_path', 'DIRNAME': 'mailbox_directory_name',
            'VOLATILEDIR': 'mail_volatile_path'}
    for opt in parts[1:]:
        k, _, v = opt.partition('=')
        fields.append((keys[k], conf_vars(v)))
    return fields


def mail_plugins_conf(plugins, indent=''):
    """mail_plugins adding `plugins` (space-separated) to the inherited list."""
    names = plugins.split()
    if V24:
        return '%smail_plugins {\n%s%s}\n' % (
            indent, ''.join('%s  %s = yes\n' % (indent, n) for n in names), indent)
    return '%smail_plugins = $mail_plugins %s\n' % (indent, ' '.join(names))


def dsync_location_args(location):
    """The location argument of `doveadm backup` ('maildir:PATH:LAYOUT=fs:INDEX=MEMORY') as this
    doveadm takes it: as is on 2.3; on 2.4 `driver:path` after -p KEY=VALUE for the rest."""
    if not V24:
        return [location]
    fields = mail_location_fields(location)
    out = []
    for key, value in fields[2:]:
        out += ['-p', '%s=%s' % (key, value)]
    return out + ['%s:%s' % (fields[0][1], fields[1][1] if len(fields) > 1 else '')]


def settings_conf(settings):
    """Plugin settings ({'migrate_source_host': 'x'}) as this Dovecot takes them: a plugin { }
    block on 2.3, top-level settings on 2.4."""
    lines = ''.join('  %s = %s\n' % (k, v) for k, v in settings.items())
    return 'plugin {\n%s}\n' % lines if not V24 else textwrap.dedent(lines)


def preset_conf(name, keys):
    """An admin preset: plugin { migrate_preset_<name>_<key> } on 2.3,
    migrate_preset_def <name> { <key> = ... } on 2.4."""
    if not V24:
        return settings_conf({'migrate_preset_%s_%s' % (name, k): v for k, v in keys.items()})
    return 'migrate_preset_def %s {\n%s}\n' % (
        name, ''.join('  %s = %s\n' % (k, v) for k, v in keys.items()))


def quota_fields(storage=None, messages=None):
    """Per-user quota limits as userdb fields (without the userdb_ prefix)."""
    if V24:
        out = {}
        if storage is not None:
            out['quota_storage_size'] = storage
        if messages is not None:
            out['quota_message_count'] = messages
        return out
    rules = []
    if storage is not None:
        rules.append('storage=%s' % storage)
    if messages is not None:
        rules.append('messages=%s' % messages)
    return {'quota_rule': '*:' + ':'.join(rules)} if rules else {}


# What the first-login plugin's background doveadm writes to dovecot-migrate.login.log when it cannot
# run at all (a module the mail uid cannot load, doveadm without the migrate command, exec
# failed).
RUN_CANNOT_START = re.compile(r"Fatal: |Couldn't load required plugin|Unknown command|"
                              r"first-login child: ")

KEEP_HINT = '(set MIGRATE_KEEP_RIG=1 to keep the rig directory with its configs and logs)\n'

# Maildir info letters for system flags (maildir(5)); keywords use a..z via dovecot-keywords.
_FLAG_LETTERS = {r'\Draft': 'D', r'\Flagged': 'F', r'\Answered': 'R', r'\Seen': 'S',
                 r'\Deleted': 'T'}
_SYSTEM_FLAGS = set(_FLAG_LETTERS)


class RigError(RuntimeError):
    """The rig could not do what was asked (Dovecot failed to start, a doveadm call failed...)."""


class DoveadmError(subprocess.CalledProcessError):
    """doveadm exited non-zero with check=True. str() includes the command's stderr."""

    def __str__(self):
        return '%s\n--- stderr ---\n%s--- stdout ---\n%s' % (
            super().__str__(), self.stderr or '', (self.stdout or '')[-4000:])


# --------------------------------------------------------------------------- helpers

def build_dir():
    return os.environ.get('MIGRATE_BUILD_DIR', '/work/main/build')


def free_ports(n):
    """n distinct currently-free TCP ports on 127.0.0.1 (the caller retries on a lost race)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((LOCALHOST, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _port_free(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((addr, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def port_open(port, host=LOCALHOST):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def mutf7_encode(name):
    """UTF-8 str -> IMAP modified UTF-7 (RFC 3501 5.1.3), as Dovecot stores names on disk."""
    out, buf = [], []

    def flush():
        if buf:
            b = ''.join(buf).encode('utf-16-be')
            out.append('&' + base64.b64encode(b).decode().rstrip('=').replace('/', ',') + '-')
            buf.clear()
    for ch in name:
        if 0x20 <= ord(ch) <= 0x7e:
            flush()
            out.append('&-' if ch == '&' else ch)
        else:
            buf.append(ch)
    flush()
    return ''.join(out)


def mutf7_decode(s):
    out, i = [], 0
    while i < len(s):
        if s[i] == '&':
            j = s.index('-', i)
            if j == i + 1:
                out.append('&')
            else:
                b64 = s[i + 1:j].replace(',', '/')
                out.append(base64.b64decode(b64 + '=' * (-len(b64) % 4)).decode('utf-16-be'))
            i = j + 1
        else:
            out.append(s[i])
            i += 1
    return ''.join(out)


def crlf(data):
    """The message as an IMAP client receives it: every line ending is CRLF (bare LF -> CRLF).

    Dovecot serves bare-LF messages with CRLF and stores saved mail with LF (mail_save_crlf=no),
    so this is the form in which source and destination bytes can be compared."""
    return data.replace(b'\r\n', b'\n').replace(b'\n', b'\r\n')


def vsize_of(data):
    """Dovecot's virtual size: the size with CRLF line endings."""
    return len(data) + data.count(b'\n') - data.count(b'\r\n')


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is gone for our purposes.
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError:
        return False


def _descendants(pid):
    """All live descendants of pid (via /proc ppid links)."""
    children = {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as f:
                ppid = int(f.read().rsplit(')', 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for c in children.get(p, []):
            out.append(c)
            todo.append(c)
    return out


def _comm(pid):
    try:
        with open('/proc/%d/comm' % pid) as f:
            return f.read().strip()
    except OSError:
        return ''


def _read_pid(path):
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def rig_processes(rig_dir, tag):
    """Live pids whose command line carries a rig's unique instance tag (Dovecot names its
    processes dovecot-migrate-<tag>-<side>/...) or its directory (doveadm -c $RIG/dst/...)."""
    marks = [('migrate-%s-' % tag).encode(), (rig_dir.rstrip('/') + '/').encode()]
    found = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open('/proc/%s/cmdline' % entry, 'rb') as f:
                cmd = f.read()
        except OSError:
            continue
        if any(m in cmd for m in marks) and _pid_alive(int(entry)):
            found.append(int(entry))
    return found


def wait_gone(rig_dir, tag, timeout):
    """rig_processes() still running after waiting up to `timeout` s for them to exit."""
    deadline = time.monotonic() + timeout
    while True:
        found = rig_processes(rig_dir, tag)
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def stop_rig_processes(rig_dir, tag, timeout=10):
    """SIGTERM a rig's Dovecot masters (by their pid files) and every other process of that rig
    (rig_processes()), SIGKILL what is left after `timeout` s. Removes nothing. Returns the pids
    it signalled."""
    pids = rig_processes(rig_dir, tag)
    masters = [_read_pid(os.path.join(rig_dir, side, 'run', 'master.pid')) for side in ('src', 'dst')]
    ordered = [p for p in masters if p in pids] + [p for p in pids if p not in masters]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in ordered:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + (timeout if sig == signal.SIGTERM else 2)
        while time.monotonic() < deadline and any(_pid_alive(p) for p in ordered):
            time.sleep(0.05)
        ordered = [p for p in ordered if _pid_alive(p)]
    return pids


def _watchdog_main():
    """`python3 rig.py --watchdog` (environment MIGRATE_RIG_WATCH=$RIG, MIGRATE_RIG_TAG=tag,
    stdin the read end of the rig owner's pipe): leaves the owner's process tree, waits for the
    pipe to close, and unless the owner wrote "keep" first, stops the rig's processes."""
    rig_dir, tag = os.environ['MIGRATE_RIG_WATCH'], os.environ['MIGRATE_RIG_TAG']
    if os.fork():
        os._exit(0)   # the orphan is adopted by init: a kill of the owner's tree misses it
    got = b''
    while True:
        chunk = os.read(0, 64)
        if not chunk:
            break
        got += chunk
    if got == b'keep':
        return
    stopped = stop_rig_processes(rig_dir, tag)
    if stopped:
        print('rig watchdog: the rig owner died; stopped %s' % stopped, flush=True)


def parse_tab(text):
    """doveadm -f tab output -> list of dicts (header row gives the keys)."""
    lines = [l for l in text.split('\n') if l != '']
    if not lines:
        return []
    keys = lines[0].split('\t')
    return [dict(zip(keys, l.split('\t'))) for l in lines[1:]]


def _copy_readable(src, dst):
    """A copy of src at dst that every uid can read (and load, for a module)."""
    shutil.copyfile(src, dst)
    os.chmod(dst, 0o755)


def _write_atomic(path, data, mode=0o644, uid=None, mtime=None):
    tmp = path + '.tmp%d' % os.getpid()
    with open(tmp, 'wb' if isinstance(data, bytes) else 'w') as f:
        f.write(data)
    os.chmod(tmp, mode)
    if uid is not None:
        os.chown(tmp, uid, uid)
    if mtime is not None:
        os.utime(tmp, (mtime, mtime))
    os.replace(tmp, path)


# --------------------------------------------------------------------------- maildir writer

class MaildirWriter:
    """Writes a corpus straight into a Maildir the way Dovecot 2.3 lays it out, owned by the
    mail uid. layout 'fs' (maildir:...:LAYOUT=fs, folders are directories with mUTF-7 names,
    INBOX is the root; a level may contain '.') or 'maildir++' (folders are .a.b dirs); sep is
    the namespace separator ('.' implies the "INBOX." prefix, so ('INBOX', 'x') == ('x',))."""

    _seq = 0   # process-wide, so that file names stay unique across calls

    def __init__(self, maildir, layout='fs', sep='/', owner=(MAIL_UID, MAIL_GID)):
        self.maildir = maildir
        self.layout = layout
        self.sep = sep
        self.owner = owner

    def vname(self, components):
        components = tuple(components)
        if self.sep == '.':
            if components == ('INBOX',):
                return 'INBOX'
            if components[0] == 'INBOX':
                components = components[1:]
            return 'INBOX.' + '.'.join(components)
        return '/'.join(components)

    def folder_dir(self, components):
        components = tuple(components)
        if components == ('INBOX',):
            return self.maildir
        if self.sep == '.' and components[0] == 'INBOX':
            components = components[1:]   # INBOX.x -> .x (INBOX is the Maildir++ root)
        for c in components:
            if (not c or c in ('.', '..') or '/' in c or c.startswith('~')
                    or (self.layout == 'maildir++' and '.' in c)):
                raise ValueError('folder level %r cannot be stored in a %s maildir (sep %r)'
                                 % (c, self.layout, self.sep))
            if self.layout == 'fs' and c in ('cur', 'new', 'tmp'):
                raise ValueError('folder name %r is reserved in maildir LAYOUT=fs' % c)
        enc = [mutf7_encode(c) for c in components]
        if self.layout == 'fs':
            return os.path.join(self.maildir, *enc)
        return os.path.join(self.maildir, '.' + '.'.join(enc))

    def subscription_name(self, components):
        # subscriptions file v2: names relative to the namespace prefix, hierarchy levels
        # separated by TAB, each level mUTF-7 (checked against what doveadm writes).
        components = tuple(components)
        if self.sep == '.' and components[0] == 'INBOX' and len(components) > 1:
            components = components[1:]
        return '\t'.join(mutf7_encode(c) for c in components)

    def _chown(self, path):
        if self.owner:
            os.chown(path, *self.owner)

    def write(self, corpus, clock=None):
        t0 = time.monotonic()
        maildir = self.maildir
        if not os.path.isdir(maildir):
            os.makedirs(maildir)
        self._chown(maildir)
        stamp = int(time.time()) if clock is None else clock
        pid = os.getpid()
        n_msgs = n_bytes = 0
        subs = _read_subscriptions(maildir)
        for folder in corpus.folders:
            comps = tuple(folder.name)
            fdir = self.folder_dir(comps)
            p = fdir
            while p != maildir and p.startswith(maildir):   # new parents (\NoSelect levels)
                if not os.path.isdir(p):
                    os.makedirs(p)
                self._chown(p)
                p = os.path.dirname(p)
            for sub in ('cur', 'new', 'tmp'):
                os.makedirs(os.path.join(fdir, sub), exist_ok=True)
                self._chown(os.path.join(fdir, sub))
            if self.layout == 'maildir++' and fdir != maildir:
                mf = os.path.join(fdir, 'maildirfolder')
                open(mf, 'a').close()
                self._chown(mf)
            kw_path = os.path.join(fdir, 'dovecot-keywords')
            keywords = _read_keywords(kw_path)
            kw_changed = False
            cur = os.path.join(fdir, 'cur')
            for m in folder.messages:
                letters = []
                for fl in m.flags:
                    if fl == r'\Recent':
                        continue
                    if fl in _FLAG_LETTERS:
                        letters.append(_FLAG_LETTERS[fl])
                        continue
                    if fl.startswith('\\'):
                        raise ValueError('unknown system flag %r' % fl)
                    if fl not in keywords:
                        if len(keywords) >= 26:
                            raise ValueError('more than 26 keywords in one maildir folder')
                        keywords[fl] = len(keywords)
                        kw_changed = True
                    letters.append(chr(ord('a') + keywords[fl]))
                data = m.data
                MaildirWriter._seq += 1
                # Dovecot assigns UIDs to new files in file name order (time, then M<n>).
                fname = '%d.M%dP%d.migrate-rig,S=%d,W=%d:2,%s' % (
                    stamp, MaildirWriter._seq, pid, len(data), vsize_of(data),
                    ''.join(sorted(set(letters))))
                path = os.path.join(cur, fname)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                try:
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view):]
                    if self.owner:
                        os.fchown(fd, *self.owner)
                    os.utime(fd, (m.internaldate, m.internaldate))
                finally:
                    os.close(fd)
                n_msgs += 1
                n_bytes += len(data)
            if kw_changed:
                _write_atomic(kw_path, ''.join('%d %s\n' % (i, k) for k, i in
                                               sorted(keywords.items(), key=lambda x: x[1])),
                              0o600, uid=self.owner[0] if self.owner else None)
            if getattr(folder, 'subscribed', True):
                subs.add(self.subscription_name(comps))
        _write_atomic(os.path.join(maildir, 'subscriptions'),
                      'V\t2\n\n' + ''.join(s + '\n' for s in sorted(subs)), 0o600,
                      uid=self.owner[0] if self.owner else None)
        return {'messages': n_msgs, 'bytes': n_bytes, 'seconds': time.monotonic() - t0}


def _read_keywords(path):
    kws = {}
    try:
        with open(path) as f:
            for line in f:
                idx, _, name = line.rstrip('\n').partition(' ')
                if idx.isdigit() and name:
                    kws[name] = int(idx)
    except FileNotFoundError:
        pass
    return kws


def _read_subscriptions(maildir):
    try:
        with open(os.path.join(maildir, 'subscriptions')) as f:
            lines = f.read().split('\n')
    except FileNotFoundError:
        return set()
    if lines and lines[0].startswith('V\t'):
        lines = lines[2:]
    return {l for l in lines if l}


# --------------------------------------------------------------------------- one instance

class Instance:
    """One Dovecot master: config, ports, logs, start/stop."""

    def __init__(self, rig, side):
        self.rig = rig
        self.side = side
        self.dir = os.path.join(rig.dir, side)
        self.conf = os.path.join(self.dir, 'dovecot.conf')
        self.run_dir = os.path.join(self.dir, 'run')
        self.log_path = os.path.join(self.dir, 'log', 'dovecot.log')
        self.mail_dir = os.path.join(self.dir, 'mail')
        self.passwd = os.path.join(self.dir, 'passwd')
        self.ports = {}
        self.master_pid = None
        self._passwd_mtime = 0
        for d in ('run', 'state', 'log', 'mail'):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        os.chmod(self.dir, 0o755)
        os.chown(self.mail_dir, MAIL_UID, MAIL_GID)
        self.write_passwd([])

    @property
    def pid_file(self):
        return os.path.join(self.run_dir, 'master.pid')

    def write_passwd(self, lines):
        # Dovecot re-reads a passwd-file when its mtime or size changes, with 1 s mtime resolution:
        # force a strictly increasing mtime so that a same-size rewrite is noticed too.
        self._passwd_mtime = max(int(time.time()), self._passwd_mtime + 1)
        _write_atomic(self.passwd, ''.join(l + '\n' for l in lines), 0o644,
                      mtime=self._passwd_mtime)
        # ... but auth stat()s the file at most once per second (passwd_file_sync():
        # last_sync_time == ioloop_time serves the cached copy), so a lookup in the same second
        # as an earlier one may still see the old file. The change is visible from the next second.
        self.users_visible_at = int(time.time()) + 1.02

    def wait_users_visible(self):
        """Sleep until a passwd-file change is certainly visible to auth (at most ~1 s)."""
        delay = getattr(self, 'users_visible_at', 0) - time.time()
        if delay > 0:
            time.sleep(delay)

    def log_tail(self, n=40):
        try:
            with open(self.log_path, errors='replace') as f:
                return ''.join(f.readlines()[-n:])
        except OSError as e:
            return '(no log: %s)\n' % e

    def log_text(self):
        try:
            with open(self.log_path, errors='replace') as f:
                return f.read()
        except OSError:
            return ''

    def log_when(self, text, timeout=10):
        """The log once it holds `text` (Dovecot's log process writes after the reply), or as
        it is at the timeout, for the assertion to show."""
        deadline = time.time() + timeout
        log = self.log_text()
        while text not in log and time.time() < deadline:
            time.sleep(0.05)
            log = self.log_text()
        return log

    def running(self):
        return self.master_pid is not None and _pid_alive(self.master_pid)

    def start(self, argv_prefix=(), timeout=20):
        cmd = list(argv_prefix) + [DOVECOT, '-c', self.conf]
        # Not pipes: the daemonized master keeps stdout/stderr open, so communicate() would hang.
        out_path = os.path.join(self.dir, 'log', 'start.out')
        with open(out_path, 'w+') as out:
            r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                               timeout=timeout)
            out.seek(0)
            output = out.read()
        if r.returncode != 0:
            raise RigError('%s Dovecot failed to start (rc=%d): %s\n%s\n--- %s (tail) ---\n%s%s' % (
                self.side, r.returncode, ' '.join(cmd), output.strip(), self.log_path,
                self.log_tail(), KEEP_HINT))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.master_pid is None:
                try:
                    with open(self.pid_file) as f:
                        self.master_pid = int(f.read().strip())
                except (OSError, ValueError):
                    pass
            if self.master_pid is not None:
                if not _pid_alive(self.master_pid):
                    break
                if all(port_open(p) for p in self.ports.values()):
                    return
            time.sleep(0.01)
        pid, self.master_pid = self.master_pid, None
        if pid and _pid_alive(pid):
            self._kill_tree(pid)
        raise RigError('%s Dovecot did not come up (ports %s) within %ss\n'
                       '--- %s (tail) ---\n%s%s' % (
            self.side, self.ports, timeout, self.log_path, self.log_tail(), KEEP_HINT))

    def stop_begin(self):
        """Send SIGTERM to the master; returns the pids to wait for."""
        pid = self.master_pid
        if pid is None:
            try:
                with open(self.pid_file) as f:
                    pid = int(f.read().strip())
            except (OSError, ValueError):
                return []
        if not _pid_alive(pid) or not _comm(pid).startswith('dovecot'):
            self.master_pid = None
            return []
        pids = [pid] + _descendants(pid)
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        return pids

    def stop_wait(self, pids, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(_pid_alive(p) for p in pids):
            time.sleep(0.02)
        left = [p for p in pids if _pid_alive(p)]
        for p in left:   # only processes of this instance (collected from our master's tree)
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.master_pid = None
        return left

    def _kill_tree(self, pid):
        self.stop_wait([pid] + _descendants(pid), timeout=0)


# --------------------------------------------------------------------------- the rig

class Rig:
    """Source + destination Dovecot on loopback. Use as a context manager.

    Keyword arguments (all optional):
      source, dest        start that instance (default True)
      src_sep             '/' (namespace prefix "") or '.' (prefix "INBOX.", Courier/Cyrus style)
      src_layout          'fs' (default for '/': names may contain '.') or 'maildir++'
                          (default and only choice for '.')
      src_special_use     declare Sent/Drafts/Trash/Junk on the source (default True); or a
                          dict {name relative to the namespace prefix: r'\\Sent', ...}
      src_compress        offer COMPRESS=DEFLATE (default False, as a stock 2.3 server; 2.4
                          offers it unless told not to)
      src_extra_conf      text appended to the source config
      src_protocols       more protocols for the source: 'pop3' (listeners src_pop3_port, which
                          offers STLS, and src_pop3s_port), 'sieve' (ManageSieve, Pigeonhole's
                          dovecot-managesieved, on src_sieve_port; STARTTLS with the rig's cert)
      src_names           host names (e.g. a provider's example 'imap.example.com') that resolve,
                          for the dest Dovecot and every doveadm run against it, to a loopback
                          address of its own where the source also listens on the standard ports
                          143 (imap, STARTTLS) and 993 (imaps); the certificate names them too
      dst_sep, dst_prefix destination namespace separator / prefix (default '/', '')
      dst_mail_location   default 'maildir:~/Maildir'
      dst_special_use     dict {name: flag or (flag, auto)}; default DST_SPECIAL_USE, auto = no
      dst_quota_rule      default quota_rule, e.g. '*:storage=1G' (None: no default rule)
      dst_mail_plugins    extra mail_plugins for every dest service (e.g. 'listescape')
      dst_imap_mail_plugins  extra mail_plugins for dest imap only (e.g. the first-login plugin)
      dst_passdb_override_fields  e.g. 'userdb_migrate_source_password=%w'
      dst_remote_passdb   add passdb imap (against the source) for users not in dst passwd
      dst_extra_conf      text appended to the dest config (settings_conf()/preset_conf() text)
      dst_any_user        the dest's static userdb accepts any user name (default True)
      dst_protocols       more protocols for the dest from its start: 'pop3' (a listener on
                          dst_pop3_port), 'lmtp' (the run dir's lmtp socket)
      dst_ssl             TLS settings (own cert) on the dest too (default False)
      sieve               Pigeonhole's Sieve storage on both sides: ~/sieve, active ~/.dovecot.sieve
                          (needs dovecot-sieve); or a dict {'src': extra, 'dst': extra} of
                          sieve_extensions changes, e.g. {'dst': '-imap4flags'}
      mail_fsync          set mail_fsync on both instances (default: Dovecot's default)
      debug               auth_debug + mail_debug on both
      keep                keep $RIG on exit (default: env MIGRATE_KEEP_RIG=1)
      build_dir           default env MIGRATE_BUILD_DIR or /work/main/build
      name                tag used in the temp dir and instance names
    """

    def __init__(self, *, source=True, dest=True, src_sep='/', src_layout=None,
                 src_special_use=True, src_compress=False, src_extra_conf='', src_protocols=(),
                 dst_sep='/',
                 dst_prefix='', dst_mail_location='maildir:~/Maildir', dst_special_use=None,
                 dst_quota_rule='*:storage=1G', dst_mail_plugins='', dst_imap_mail_plugins='',
                 dst_passdb_override_fields=None, dst_remote_passdb=True, dst_extra_conf='',
                 dst_any_user=True, dst_protocols=(), dst_ssl=False, mail_fsync=None,
                 debug=False, keep=None, build_dir=None, name='rig', src_names=(),
                 sieve=False):
        if src_sep not in ('/', '.'):
            raise ValueError("src_sep must be '/' or '.'")
        if src_layout is None:
            src_layout = 'fs' if src_sep == '/' else 'maildir++'
        if src_layout not in ('fs', 'maildir++') or (src_sep == '.' and src_layout != 'maildir++'):
            raise ValueError('unsupported src_layout %r for separator %r' % (src_layout, src_sep))
        self.opts = dict(source=source, dest=dest, src_sep=src_sep, src_layout=src_layout,
                         src_compress=src_compress, src_extra_conf=src_extra_conf,
                         src_protocols=tuple(src_protocols),
                         dst_sep=dst_sep, dst_prefix=dst_prefix,
                         dst_mail_location=dst_mail_location, dst_quota_rule=dst_quota_rule,
                         dst_mail_plugins=dst_mail_plugins,
                         dst_imap_mail_plugins=dst_imap_mail_plugins,
                         dst_passdb_override_fields=dst_passdb_override_fields,
                         dst_remote_passdb=dst_remote_passdb, dst_extra_conf=dst_extra_conf,
                         dst_any_user=dst_any_user, dst_protocols=tuple(dst_protocols),
                         dst_ssl=dst_ssl, mail_fsync=mail_fsync,
                         debug=debug,
                         sieve=sieve if isinstance(sieve, dict) else ({} if sieve else None))
        if src_special_use is True:
            src_special_use = dict(SRC_SPECIAL_USE)
        self.src_special_use = dict(src_special_use or {})
        self.dst_special_use = dict(DST_SPECIAL_USE if dst_special_use is None else dst_special_use)
        self.src_sep = src_sep
        self.src_prefix = 'INBOX.' if src_sep == '.' else ''
        self.src_layout = src_layout
        self.src_names = tuple(src_names)
        self.src_named_address = None   # picked at start() when src_names are given
        self.hosts_file = None
        self.build_dir = os.path.abspath(build_dir or build_dir_default())
        self.keep = (os.environ.get('MIGRATE_KEEP_RIG') == '1') if keep is None else keep
        self.name = re.sub(r'[^A-Za-z0-9_-]', '', name)[:20] or 'rig'
        self.api_key = 'rigkey-' + os.urandom(8).hex()
        self.dir = None
        self.src = self.dst = None
        self.src_users = {}
        self.dst_users = {}
        self._started = False

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def start(self):
        self.dir = tempfile.mkdtemp(prefix='migrate-%s-' % self.name, dir='/tmp')
        self._started = True        # from here on close() cleans up
        atexit.register(self.close)
        os.chmod(self.dir, 0o755)   # dovenull/dovecot/mail uid must traverse it
        self._tag = os.path.basename(self.dir)[len('migrate-'):]
        self._start_watchdog()
        if self.src_names:
            self._name_source()
        self.certs_dir = os.path.join(self.dir, 'certs')
        self.cert = os.path.join(self.certs_dir, 'cert.pem')
        self.key = os.path.join(self.certs_dir, 'key.pem')
        self.ca_file = self.cert   # self-signed: the cert is its own CA
        self._make_cert()
        self.mail_modules = os.path.join(self.dir, 'mail-modules')
        self.doveadm_modules = os.path.join(self.dir, 'doveadm-modules')
        self._make_module_dirs()
        if self.opts['source']:
            self.src = Instance(self, 'src')
        if self.opts['dest']:
            self.dst = Instance(self, 'dst')
        if self.src:
            ports = ('imap', 'imaps') + (('pop3', 'pop3s') if 'pop3' in self.opts['src_protocols'] else ())
            ports += ('sieve',) if 'sieve' in self.opts['src_protocols'] else ()
            self._start_instance(self.src, self._write_src_conf, ports, ())
        if self.dst:
            ports = ('imap', 'http') + (('pop3',) if 'pop3' in self.opts['dst_protocols'] else ())
            self._start_instance(self.dst, self._write_dst_conf, ports, self._bind_prefix())
        return self

    def _start_watchdog(self):
        """Stops this rig's Dovecot when this process dies however it dies (SIGKILL, ctest's
        timeout), where close() and atexit never run: a watchdog outside our process tree waits
        for EOF on a pipe whose write end only this process holds (os.pipe() is not inherited
        by the servers we start)."""
        r, self._watch_fd = os.pipe()
        env = dict(os.environ, MIGRATE_RIG_WATCH=self.dir, MIGRATE_RIG_TAG=self._tag)
        try:
            with open(os.path.join(self.dir, 'watchdog.log'), 'a') as log:
                subprocess.run([sys.executable, os.path.abspath(__file__), '--watchdog'],
                               stdin=r, stdout=log, stderr=log, env=env,
                               start_new_session=True, check=True, timeout=30)
        finally:
            os.close(r)

    def _release_watchdog(self, word=b''):
        if getattr(self, '_watch_fd', None) is not None:
            if word:
                os.write(self._watch_fd, word)
            os.close(self._watch_fd)
            self._watch_fd = None

    def keep_running(self):
        """Leave both servers running when this process exits (the demo's --keep)."""
        atexit.unregister(self.close)
        self._release_watchdog(b'keep')

    def _start_instance(self, inst, write_conf, port_names, prefix, attempts=4):
        for attempt in range(attempts):
            inst.ports = dict(zip(port_names, free_ports(len(port_names))))
            write_conf()
            try:
                inst.start(prefix)
                return
            except RigError as e:
                # Another parallel test may have grabbed a port between our probe and bind().
                if 'Address already in use' in str(e) and attempt + 1 < attempts:
                    time.sleep(0.05)
                    continue
                raise

    def close(self):
        """Stop both instances (always), then remove $RIG unless keep."""
        if not self._started:
            return
        self._started = False
        pending = []
        for inst in (self.src, self.dst):
            if inst is not None:
                pending.append((inst, inst.stop_begin()))
        leftovers = []
        for inst, pids in pending:
            leftovers += inst.stop_wait(pids)
        if leftovers:
            sys.stderr.write('rig: had to SIGKILL %s\n' % leftovers)
        stray = self.leftover_processes()
        if stray:
            sys.stderr.write('rig: processes of this rig still running: %s\n' % stray)
        self._release_watchdog()
        if self.keep:
            sys.stderr.write('rig: kept %s\n' % self.dir)
        elif self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    stop = close

    def leftover_processes(self, wait=3.0):
        """rig_processes() of this rig, after waiting up to `wait` s for them to exit. Empty
        after a clean close()."""
        return wait_gone(self.dir, self._tag, wait) if self.dir else []

    def _name_source(self):
        """src_names: a loopback address of the source's own with 143 and 993 free on it, and
        a hosts file that maps the names there (mounted over /etc/hosts by _bind_prefix)."""
        rnd = random.Random(os.urandom(8))
        for _ in range(50):
            addr = '127.%d.%d.%d' % (rnd.randint(1, 254), rnd.randint(0, 255), rnd.randint(1, 254))
            if all(_port_free(addr, port) for port in (143, 993)):
                break
        else:
            raise RigError('no loopback address with ports 143 and 993 free for %s' % (
                self.src_names,))
        self.src_named_address = addr
        self.hosts_file = os.path.join(self.dir, 'hosts')
        _write_atomic(self.hosts_file, '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n'
                      '%s\t%s\n' % (addr, ' '.join(self.src_names)))

    def _make_cert(self):
        os.makedirs(self.certs_dir)
        san = 'IP:127.0.0.1,DNS:localhost'
        if self.src_names:
            san += ',IP:%s,%s' % (self.src_named_address,
                                  ','.join('DNS:' + n for n in self.src_names))
        r = subprocess.run(
            ['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', self.key,
             '-out', self.cert, '-days', '30', '-subj', '/CN=localhost',
             '-addext', 'subjectAltName=' + san],
            capture_output=True, text=True)
        if r.returncode != 0:
            raise RigError('openssl req failed: ' + r.stderr)
        os.chmod(self.key, 0o600)
        os.chmod(self.cert, 0o644)

    def _make_module_dirs(self):
        os.makedirs(self.mail_modules)
        for so in glob.glob(STOCK_MODULE_DIR + '/*.so'):
            os.symlink(so, os.path.join(self.mail_modules, os.path.basename(so)))
        # The project's modules are copied, not linked: the mail uid (the first-login plugin's
        # background doveadm) must read them, and a checkout under /root (0700) is out of its
        # reach.
        for so in self.dev_mail_modules():
            dst = os.path.join(self.mail_modules, os.path.basename(so))
            if os.path.lexists(dst):
                os.unlink(dst)
            _copy_readable(so, dst)
        # Copies, not symlinks: once bind-mounted over DOVEADM_MODULE_DIR, a symlink to
        # /usr/lib/dovecot/modules/doveadm/x.so would point at itself (ELOOP) and be skipped.
        os.makedirs(self.doveadm_modules)
        for so in glob.glob(DOVEADM_MODULE_DIR + '/*.so'):
            shutil.copy2(so, self.doveadm_modules)
        for so in self.dev_doveadm_modules():
            _copy_readable(so, os.path.join(self.doveadm_modules, os.path.basename(so)))
        dirs = [self.mail_modules, self.doveadm_modules]
        if V24:
            # Stock settings modules (Pigeonhole's) and the project's libmigrate_settings.so.
            settings = os.path.join(self.dir, 'settings-modules')
            os.makedirs(settings)
            for so in glob.glob(SETTINGS_MODULE_DIR + '/*.so'):
                shutil.copy2(so, settings)
            for so in glob.glob(os.path.join(self.build_dir, 'dovecot_adapter/lib*_settings.so')):
                _copy_readable(os.path.realpath(so), os.path.join(settings, os.path.basename(so)))
            dirs.append(settings)
        for d in dirs:
            os.chmod(d, 0o755)

    def dev_doveadm_modules(self):
        """The project's built doveadm module(s) (may be none yet)."""
        found = set()
        for pat in ('doveadm_cmd/lib*_doveadm_*plugin.so', 'doveadm_cmd/*/lib*_doveadm_*plugin.so'):
            found.update(glob.glob(os.path.join(self.build_dir, pat)))
        return sorted(os.path.realpath(p) for p in found)

    def dev_mail_modules(self):
        found = set()
        for pat in ('plugin/lib*.so', 'plugin/*/lib*.so'):
            found.update(glob.glob(os.path.join(self.build_dir, pat)))
        return sorted(os.path.realpath(p) for p in found)

    @property
    def has_dev_doveadm_module(self):
        return bool(self.dev_doveadm_modules())

    def _bind_prefix(self, modules=None):
        modules = modules or self.doveadm_modules
        if self.hosts_file:
            return ['unshare', '-m', '--propagation', 'private', 'sh', '-c', BIND_HOSTS_SNIPPET,
                    modules, self.hosts_file]
        return ['unshare', '-m', '--propagation', 'private', 'sh', '-c', BIND_SNIPPET, modules]

    def other_build_modules(self, build_dir, name):
        """A doveadm module directory (and, on 2.4, settings modules beside it) like the rig's,
        with the project's modules from another build (e.g. an earlier commit's, for the
        benchmark's baseline); for doveadm_argv(modules=...)."""
        top = os.path.join(self.dir, name)
        modules = os.path.join(top, 'doveadm-modules')
        shutil.copytree(self.doveadm_modules, modules)
        for so in glob.glob(os.path.join(build_dir, 'doveadm_cmd/lib*_doveadm_*plugin.so')):
            _copy_readable(os.path.realpath(so), os.path.join(modules, os.path.basename(so)))
        settings = os.path.join(self.dir, 'settings-modules')
        if os.path.isdir(settings):
            shutil.copytree(settings, os.path.join(top, 'settings-modules'))
            for so in glob.glob(os.path.join(build_dir, 'dovecot_adapter/lib*_settings.so')):
                _copy_readable(os.path.realpath(so),
                               os.path.join(top, 'settings-modules', os.path.basename(so)))
        for d in (top, modules):
            os.chmod(d, 0o755)
        return modules

    # ------------------------------------------------------------------ config

    def _common_conf(self, inst, ssl_on):
        d = inst.dir
        lines = []
        if V24:
            lines += ['dovecot_config_version = 2.4.0', 'dovecot_storage_version = 2.4.0']
        lines += [
            'instance_name = migrate-%s-%s' % (self._tag, inst.side),
            'base_dir = %s/run' % d,
            'state_dir = %s/state' % d,
            'protocols = %s' % ' '.join(('imap',) + self.opts['%s_protocols' % inst.side]),
            'listen = %s' % LOCALHOST,
            'log_path = %s' % inst.log_path,
            'auth_verbose = yes',
            'auth_failure_delay = 0',   # tests of wrong passwords need no 2 s penalty
            'auth_allow_cleartext = yes' if V24 else 'disable_plaintext_auth = no',
            'auth_mechanisms = plain login',
            'first_valid_uid = 20000',
            'mail_uid = %d' % MAIL_UID,
            'mail_gid = %d' % MAIL_GID,
            'mail_max_userip_connections = 100',
        ]
        if V24:
            # As username_format=%n in 2.3's passwd-file lookups: "alice@example.com" is alice.
            lines.append('auth_username_format = %{user | username | lower}')
        if ssl_on and V24:
            lines += ['ssl = yes', 'ssl_server_cert_file = %s' % self.cert,
                      'ssl_server_key_file = %s' % self.key]
        elif ssl_on:
            lines += ['ssl = yes', 'ssl_cert = <%s' % self.cert, 'ssl_key = <%s' % self.key]
        else:
            lines += ['ssl = no']
        if self.opts['mail_fsync']:
            lines.append('mail_fsync = %s' % self.opts['mail_fsync'])
        if self.opts['debug']:
            lines += ['auth_debug = yes', 'mail_debug = yes']
        return '\n'.join(lines) + '\n'

    @staticmethod
    def passwd_file_conf(name, path, kind, fields=None, master=False):
        """A passwd-file passdb or userdb (kind) over `path` with PLAIN passwords, named `name`
        on 2.4; fields: 2.3 override_fields text ("userdb_x=%w ..."); master: a master passdb."""
        if V24:
            out = '%s %s {\n  driver = passwd-file\n  passwd_file_path = %s\n' % (kind, name, path)
            if kind == 'passdb':
                out += '  default_password_scheme = PLAIN\n'
            if master:
                out += '  master = yes\n'
            return out + Rig._fields_block(fields) + '}\n'
        args = ('scheme=PLAIN ' if kind == 'passdb' else '') + ('' if master else 'username_format=%n ') + path
        out = '%s {\n  driver = passwd-file\n  args = %s\n' % (kind, args)
        if master:
            out += '  master = yes\n'
        if fields:
            out += '  override_fields = %s\n' % fields
        return out + '}\n'

    @staticmethod
    def _fields_block(fields):
        """2.3 override_fields text ("k=v k2=v2") as a 2.4 fields { } block."""
        if not fields:
            return ''
        pairs = [f.partition('=') for f in fields.split()]
        return '  fields {\n%s  }\n' % ''.join('    %s = %s\n' % (k, conf_vars(v)) for k, _, v in pairs)

    @staticmethod
    def _static_userdb_conf(home, allow_all):
        if V24:
            return ('userdb static {\n  fields {\n    uid = %d\n    gid = %d\n    home = %s\n  }\n%s}\n' %
                    (MAIL_UID, MAIL_GID, conf_vars(home), '  allow_all_users = yes\n' if allow_all else ''))
        return 'userdb {\n  driver = static\n  args = uid=%d gid=%d home=%s%s\n}\n' % (
            MAIL_UID, MAIL_GID, home, ' allow_all_users=yes' if allow_all else '')

    @staticmethod
    def _compress_conf(on):
        """COMPRESS=DEFLATE offered or not: the imap_zlib plugin on 2.3; built into imap and
        offered by default on 2.4 (then taken out of the capability when off)."""
        if V24:
            return '' if on else ('protocol imap {\n  imap_capability {\n'
                                  '    "COMPRESS=DEFLATE" = no\n  }\n}\n')
        return 'protocol imap {\n  mail_plugins = $mail_plugins imap_zlib\n}\n' if on else ''

    @staticmethod
    def listeners_conf(service, listeners):
        """service <service> { inet_listener name { address port [ssl] } ... }"""
        key = 'listen' if V24 else 'address'
        out = 'service %s {\n' % service
        for name, addr, port, ssl_on in listeners:
            out += '  inet_listener %s {\n' % name
            if addr is not None:
                out += '    %s = %s\n' % (key, addr)
            out += '    port = %s\n' % port
            if ssl_on:
                out += '    ssl = yes\n'
            out += '  }\n'
        return out + '}\n'

    @staticmethod
    def _quota_conf(rule):
        """The dest's quota root "User quota" (count backend) with the default limit `rule`
        ('*:storage=1G', None: no limit)."""
        limits = dict(p.split('=', 1) for p in rule.split(':')[1:]) if rule else {}
        if V24:
            # The limits at the top level, not in the block: a user's userdb fields
            # (quota_storage_size ...) override them there, and the block inherits them.
            keys = {'storage': 'quota_storage_size', 'messages': 'quota_message_count'}
            return 'quota "User quota" {\n  driver = count\n}\n' + ''.join(
                '%s = %s\n' % (keys[k], v) for k, v in limits.items())
        return 'plugin {\n  quota = count:User quota\n  quota_vsizes = yes\n%s}\n' % (
            '  quota_rule = %s\n' % rule if rule else '')

    @staticmethod
    def _special_use_conf(mapping, default_auto=None):
        out = []
        for name, v in mapping.items():
            flag, auto = (v, default_auto) if isinstance(v, str) else v
            out.append('  mailbox "%s" {\n    special_use = %s\n%s  }\n' % (
                name.replace('\\', '\\\\').replace('"', '\\"'), flag,
                '    auto = %s\n' % auto if auto else ''))
        return ''.join(out)

    _POP3_OFF = textwrap.dedent('''\
        service pop3-login {
          inet_listener pop3 {
            port = 0
          }
          inet_listener pop3s {
            port = 0
          }
        }
        ''')

    def _sieve_conf(self, side):
        """The user's Sieve storage (Pigeonhole) when the rig has `sieve`, with that side's
        sieve_extensions changes ('-imap4flags +special-use')."""
        sieve = self.opts['sieve']
        if sieve is None:
            return ''
        changes = sieve.get(side, '').split()
        if V24:
            out = ('sieve_script personal {\n  driver = file\n  path = ~/sieve\n'
                   '  active_path = ~/.dovecot.sieve\n}\n')
            if changes:
                out += 'sieve_extensions {\n%s}\n' % ''.join(
                    '  %s = %s\n' % (c[1:], 'yes' if c[0] == '+' else 'no') for c in changes)
            return out
        out = 'plugin {\n  sieve = file:~/sieve;active=~/.dovecot.sieve\n'
        if changes:
            out += '  sieve_extensions = %s\n' % ' '.join(changes)
        return out + '}\n'

    @property
    def src_sieve_port(self):
        return self.src.ports['sieve']

    # Where src_names point: the standard ports, as a provider's example lines have them.
    def _named_listeners_conf(self, addr):
        return self.listeners_conf('imap-login', [('imap_named', addr, 143, False),
                                                   ('imaps_named', addr, 993, True)])

    def _write_src_conf(self):
        inst = self.src
        d = inst.dir
        loc = 'maildir:%s/mail/%%n/Maildir' % d
        if self.src_layout == 'fs':
            loc += ':LAYOUT=fs'
        conf = self._common_conf(inst, True)
        conf += mail_location_conf(loc)
        conf += 'mail_home = %s\n' % conf_vars('%s/mail/%%n' % d)
        conf += self.passwd_file_conf('passwd-file', '%s/passwd' % d, 'passdb')
        conf += self._static_userdb_conf('%s/mail/%%n' % d, allow_all=False)
        conf += 'namespace inbox {\n  inbox = yes\n  separator = %s\n  prefix = %s\n' % (
            self.src_sep, self.src_prefix)
        # Names in a namespace's mailbox{} blocks are relative to its prefix (checked: with
        # prefix INBOX., "mailbox Sent" applies to INBOX.Sent, "mailbox INBOX.Sent" to nothing).
        conf += self._special_use_conf(self.src_special_use)
        conf += '}\n'
        conf += self.listeners_conf('imap-login', [('imap', LOCALHOST, inst.ports['imap'], False),
                                                    ('imaps', LOCALHOST, inst.ports['imaps'], True)])
        if self.src_named_address:
            conf += self._named_listeners_conf(self.src_named_address)
        if 'pop3' in self.opts['src_protocols']:
            conf += self.listeners_conf('pop3-login', [('pop3', LOCALHOST, inst.ports['pop3'], False),
                                                        ('pop3s', LOCALHOST, inst.ports['pop3s'], True)])
        else:
            conf += self._POP3_OFF
        if 'sieve' in self.opts['src_protocols']:
            conf += self.listeners_conf('managesieve-login', [('sieve', LOCALHOST, inst.ports['sieve'], False)])
        conf += self._sieve_conf('src')
        conf += self._compress_conf(self.opts['src_compress'])
        conf += self.opts['src_extra_conf'] + '\n'
        _write_atomic(inst.conf, conf)

    def _write_dst_conf(self):
        inst = self.dst
        d = inst.dir
        o = self.opts
        conf = self._common_conf(inst, o['dst_ssl'])
        override = o['dst_passdb_override_fields']
        conf += mail_location_conf(o['dst_mail_location'])
        conf += mail_plugins_conf('quota ' + o['dst_mail_plugins'])
        if V24:
            conf += ('mail_attribute {\n  dict file {\n'
                     '    path = %{home}/dovecot-attributes\n  }\n}\n')
        else:
            conf += 'mail_attribute_dict = file:%h/dovecot-attributes\n'
        conf += 'mail_plugin_dir = %s\n' % self.mail_modules
        conf += self.passwd_file_conf('passwd-file', '%s/passwd' % d, 'passdb', override)
        if o['dst_remote_passdb'] and self.src is not None:
            if V24:
                conf += 'passdb imap {\n  imapc_host = %s\n  imapc_port = %d\n%s}\n' % (
                    LOCALHOST, self.src.ports['imap'], self._fields_block(override))
            else:
                conf += 'passdb {\n  driver = imap\n  args = host=%s port=%d\n%s}\n' % (
                    LOCALHOST, self.src.ports['imap'],
                    '  override_fields = %s\n' % override if override else '')
        conf += self.passwd_file_conf('passwd-file', '%s/passwd' % d, 'userdb')
        conf += self._static_userdb_conf('%s/mail/%%n' % d, allow_all=o['dst_any_user'])
        conf += 'namespace inbox {\n  inbox = yes\n  separator = %s\n  prefix = %s\n' % (
            o['dst_sep'], o['dst_prefix'])
        conf += self._special_use_conf(self.dst_special_use, default_auto='no')
        conf += '}\n'
        conf += self._quota_conf(o['dst_quota_rule'])
        conf += 'protocol imap {\n%s}\n' % mail_plugins_conf('imap_quota ' + o['dst_imap_mail_plugins'],
                                                              indent='  ')
        conf += 'service stats {\n  unix_listener stats-writer {\n    mode = 0666\n  }\n}\n'
        conf += self.listeners_conf('imap-login', [('imap', LOCALHOST, inst.ports['imap'], False),
                                                    ('imaps', None, 0, False)])
        conf += 'doveadm_api_key = %s\n' % self.api_key
        conf += self.listeners_conf('doveadm', [('http', LOCALHOST, inst.ports['http'], False)])
        if 'pop3' in o['dst_protocols']:
            conf += self.listeners_conf('pop3-login', [('pop3', LOCALHOST, inst.ports['pop3'], False),
                                                        ('pop3s', None, 0, False)])
        else:
            conf += self._POP3_OFF
        conf += self._sieve_conf('dst')
        conf += o['dst_extra_conf'] + '\n'
        _write_atomic(inst.conf, conf)

    def set_dest_extra_conf(self, text, reload=True):
        """Replace the dest's extra config text; reload the running instance."""
        self.opts['dst_extra_conf'] = text
        self._write_dst_conf()
        if reload:
            self.reload('dst')

    def reload(self, side='dst', timeout=10):
        """doveadm reload, then wait until the master logged that it re-read the config."""
        inst = self._inst(side)
        marker = 'SIGHUP received - reloading configuration'
        before = inst.log_text().count(marker)
        self.doveadm('reload', conf=side, check=True)
        deadline = time.monotonic() + timeout
        while inst.log_text().count(marker) <= before:
            if time.monotonic() > deadline:
                raise RigError('%s did not reload:\n%s' % (side, inst.log_tail()))
            time.sleep(0.02)
        time.sleep(0.1)   # let the new config process take over

    # ------------------------------------------------------------------ accessors

    def _inst(self, side):
        inst = {'src': self.src, 'dst': self.dst}.get(side)
        if inst is None:
            raise RigError('no %r instance in this rig' % side)
        return inst

    @property
    def src_conf(self):
        return self.src.conf

    @property
    def dst_conf(self):
        return self.dst.conf

    @property
    def src_imap_port(self):
        return self.src.ports['imap']

    @property
    def src_imaps_port(self):
        return self.src.ports['imaps']

    @property
    def dst_imap_port(self):
        return self.dst.ports['imap']

    @property
    def src_pop3_port(self):
        return self.src.ports['pop3']

    @property
    def src_pop3s_port(self):
        return self.src.ports['pop3s']

    @property
    def dst_pop3_port(self):
        return self.dst.ports['pop3']

    @property
    def http_port(self):
        return self.dst.ports['http']

    def log_paths(self):
        return {i.side: i.log_path for i in (self.src, self.dst) if i}

    def logs_tail(self, n=40):
        """Both instance logs' tails, for a failing test's message."""
        return ''.join('--- %s (%s) ---\n%s' % (i.side, i.log_path, i.log_tail(n))
                       for i in (self.src, self.dst) if i)

    def log_errors(self, side):
        """Lines with Error/Panic/Fatal in an instance log."""
        return [l for l in self._inst(side).log_text().splitlines()
                if re.search(r'\b(Error|Panic|Fatal):', l)]

    def login_log(self, user):
        """The user's dovecot-migrate.login.log (the background runs' output), '' if none."""
        try:
            with open(self.state_path(user, 'login.log'), errors='replace') as f:
                return f.read()
        except FileNotFoundError:
            return ''

    def check_background_run(self, user):
        """Raises RigError with the log line if the user's first-login background run could not
        start (a wait for it would only time out)."""
        plugin = 'migrate: cannot start the migration of %s: ' % user
        for where, text in (('login.log', self.login_log(user)),
                            (self.dst.log_path, self.dst.log_text())):
            for line in text.splitlines():
                if plugin in line or (where == 'login.log' and RUN_CANNOT_START.search(line)):
                    raise RigError('the background migration of %s could not start (%s): %s' % (
                        user, where, line))

    def src_home(self, user):
        return os.path.join(self.src.mail_dir, user)

    def src_maildir(self, user):
        return os.path.join(self.src_home(user), 'Maildir')

    # The files `doveadm migrate` keeps for a user (dovecot_adapter/state_location.h).
    STATE_PREFIX = 'dovecot-migrate.'

    def state_dir(self, user):
        """Where the tool keeps the destination user's files: the control directory of the
        user's INBOX, as `doveadm mailbox path -t control` prints it (nothing is created)."""
        cache = self.__dict__.setdefault('_state_dirs', {})
        if user not in cache:
            r = self.doveadm('mailbox', 'path', '-u', user, '-t', 'control', 'INBOX', check=True)
            cache[user] = r.stdout.strip()
        return cache[user]

    def state_path(self, user, name):
        """One of the user's files: name 'status', 'login.log', 'login.lock', '<key>.state'."""
        return os.path.join(self.state_dir(user), self.STATE_PREFIX + name)

    def dst_home(self, user):
        return os.path.join(self.dst.mail_dir, user)

    def describe(self):
        lines = ['rig %s' % self.dir]
        for i in (self.src, self.dst):
            if i:
                lines.append('  %s: conf=%s log=%s ports=%s' % (i.side, i.conf, i.log_path,
                                                                 i.ports))
        lines.append('  dev doveadm modules: %s' % (self.dev_doveadm_modules() or 'none'))
        lines.append('  dev mail modules: %s' % (self.dev_mail_modules() or 'none'))
        return '\n'.join(lines)

    # ------------------------------------------------------------------ doveadm

    def doveadm_argv(self, *args, conf='dst', modules=None):
        """argv for doveadm against an instance ('src', 'dst' or a config path). For the dest (or
        a path) it runs in a private mount namespace with the dev doveadm modules mounted (or
        `modules`, from other_build_modules())."""
        if conf == 'src':
            # (no wait: the source's userdb is static, only its passdb reads the passwd-file)
            return [DOVEADM, '-c', self.src.conf] + [str(a) for a in args]
        if self.dst is not None:
            self.dst.wait_users_visible()
        path = self.dst.conf if conf == 'dst' else conf
        return self._bind_prefix(modules) + [DOVEADM, '-c', path] + [str(a) for a in args]

    def doveconf_argv(self, *args, conf='dst'):
        """argv for doveconf on the dest's config (or a path), with the dev modules mounted (on
        2.4 the settings module, which declares the migrate_* settings)."""
        path = self.dst.conf if conf == 'dst' else conf
        return self._bind_prefix() + ['doveconf', '-c', path] + [str(a) for a in args]

    def doveadm(self, *args, input=None, conf='dst', check=False, timeout=300, env=None,
                text=True):
        """Run doveadm; returns subprocess.CompletedProcess with text stdout/stderr (bytes with
        text=False, e.g. to feed a raw message to `doveadm save`). check=True raises
        DoveadmError (which shows stderr) on a non-zero exit."""
        argv = self.doveadm_argv(*args, conf=conf)
        r = subprocess.run(argv, input=input, capture_output=True, text=text, timeout=timeout,
                           env=env, errors='surrogateescape' if text else None)
        if check and r.returncode != 0:
            raise DoveadmError(r.returncode, argv, r.stdout, r.stderr)
        return r

    def doveadm_tab(self, *args, conf='dst'):
        """doveadm -f tab ... (check=True), parsed into a list of dicts."""
        return parse_tab(self.doveadm('-f', 'tab', *args, conf=conf, check=True).stdout)

    def wait_users_visible(self):
        """Block until add_*_user changes are visible to Dovecot's auth (at most ~1 s after the
        last change; doveadm(), imap_login() and http_api() call this themselves)."""
        for inst in (self.src, self.dst):
            if inst is not None:
                inst.wait_users_visible()

    def http_api(self, commands, timeout=300):
        """POST [[cmd, {params}, tag], ...] to the dest's doveadm HTTP API; returns parsed JSON."""
        self.dst.wait_users_visible()
        req = urllib.request.Request(
            'http://%s:%d/doveadm/v1' % (LOCALHOST, self.http_port),
            data=json.dumps(commands).encode(),
            headers={'Authorization': 'X-Dovecot-API ' +
                     base64.b64encode(self.api_key.encode()).decode(),
                     'Content-Type': 'application/json'})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return json.loads(resp.read().decode() or 'null')
        except urllib.error.HTTPError as e:
            raise RigError('doveadm HTTP API: %s %s' % (e.code, e.read()[:2000]))

    def imapc_args(self, user, password, tls='none'):
        """-o options for the built-in baseline (`doveadm backup -R -u U imapc:`), notes sec. 6."""
        # 2.4 fetches sizes and headers by default (the features are now no-fetch-size ...).
        o = ['imapc_host=%s' % LOCALHOST, 'imapc_user=%s' % user, 'imapc_password=%s' % password,
             'mail_prefetch_count=20']
        if not V24:
            o.append('imapc_features=rfc822.size fetch-headers')
        if tls == 'none':
            o += ['imapc_port=%d' % self.src_imap_port, 'imapc_ssl=no']
        elif tls == 'starttls':
            o += ['imapc_port=%d' % self.src_imap_port, 'imapc_ssl=starttls',
                  'ssl_client_ca_file=%s' % self.ca_file]
        elif tls == 'imaps':
            o += ['imapc_port=%d' % self.src_imaps_port, 'imapc_ssl=imaps',
                  'ssl_client_ca_file=%s' % self.ca_file]
        else:
            raise ValueError(tls)
        out = []
        for x in o:
            out += ['-o', x]
        return out

    def password_file(self, password, name=None):
        """A 0600 file holding password (no newline), owned by the mail uid, inside $RIG."""
        path = os.path.join(self.dir, name or ('pw-' + os.urandom(4).hex()))
        _write_atomic(path, password, 0o600, uid=MAIL_UID)
        return path

    # ------------------------------------------------------------------ users

    @staticmethod
    def _check_field(what, v):
        if v is None:
            return
        if any(c in str(v) for c in ':\n\r') or (what != 'extra' and ' ' in str(v)):
            raise ValueError('%s %r must not contain ":", spaces or newlines' % (what, v))

    def add_source_user(self, name, password):
        self._check_field('name', name)
        self._check_field('password', password)
        self.src_users[name] = password
        self.src.write_passwd('%s:{PLAIN}%s' % (u, p) for u, p in self.src_users.items())

    def add_dest_user(self, name, password=None, quota=None, extra=None, passdb_extra=None):
        """A user in the dest passwd-file. quota e.g. '1M' -> userdb_quota_rule=*:storage=1M.
        extra: userdb fields ({'migrate_source_password': 'x'} -> userdb_migrate_source_password=x,
        which the user's mail_user sees as plugin setting migrate_source_password).
        password None: the user cannot log in over IMAP (a random password is set)."""
        self._check_field('name', name)
        self._check_field('password', password)
        fields = []
        extra = dict(extra or {})
        if quota is not None:
            extra.update(quota_fields(storage=quota))
        if V24 and 'mail' in extra:
            extra.update(mail_location_fields(extra.pop('mail')))
        for k, v in extra.items():
            if any(c.isspace() for c in str(v)):
                raise ValueError('passwd-file extra field %s=%r cannot contain whitespace' % (k, v))
            fields.append('%s=%s' % (k if k.startswith('userdb_') else 'userdb_' + k, v))
        for k, v in (passdb_extra or {}).items():
            fields.append('%s=%s' % (k, v) if v is not None else k)
        self.dst_users[name] = dict(password=password, quota=quota, extra=dict(extra or {}),
                                    line='%s:{PLAIN}%s:%d:%d::%s::%s' % (
                                        name, password if password is not None
                                        else '!nologin-' + os.urandom(8).hex(),
                                        MAIL_UID, MAIL_GID, self.dst_home(name), ' '.join(fields)))
        self.dst.write_passwd(u['line'] for u in self.dst_users.values())

    def remove_dest_user(self, name):
        self.dst_users.pop(name, None)
        self.dst.write_passwd(u['line'] for u in self.dst_users.values())

    # ------------------------------------------------------------------ source mail

    def src_vname(self, components):
        """The source's IMAP/doveadm name of a folder given as components."""
        return MaildirWriter(None, self.src_layout, self.src_sep).vname(components)

    def src_folder_dir(self, user, components):
        """On-disk maildir directory of a source folder."""
        return MaildirWriter(self.src_maildir(user), self.src_layout, self.src_sep).folder_dir(
            components)

    def load_source(self, user, corpus, clock=None):
        """Write corpus straight into the source user's maildir (fast: no IMAP, no doveadm).

        corpus: an object with .folders, each with .name (tuple of components, ('INBOX',) for
        INBOX; for a '.' source ('INBOX', 'x') and ('x',) both mean INBOX.x), .subscribed (bool)
        and .messages (iterable of objects with .data bytes, .flags iterable of str and
        .internaldate unix int; may be a generator). May be called again to add folders or
        messages (keywords files and subscriptions are merged; Dovecot picks new files up).
        Files get S= and W= sizes, flags in the info part and INTERNALDATE as mtime; UIDs
        follow the order of .messages. Returns {'messages', 'bytes', 'seconds'}."""
        os.makedirs(self.src_home(user), exist_ok=True)
        os.chown(self.src_home(user), MAIL_UID, MAIL_GID)
        return MaildirWriter(self.src_maildir(user), self.src_layout, self.src_sep).write(
            corpus, clock=clock)

    # ------------------------------------------------------------------ inspection

    def mailbox_names(self, side, user):
        return [r['mailbox'] for r in self.doveadm_tab('mailbox', 'list', '-u', user, conf=side)]

    def mailboxes(self, side, user):
        """[{name, special_use ('' or e.g. '\\Sent'), subscribed, selectable, uidvalidity,
        uidnext, messages, highestmodseq, vsize, guid}] sorted by name. Non-selectable
        (\\NoSelect / nonexistent parent) mailboxes have selectable False and None counts."""
        names = self.mailbox_names(side, user)
        if not names:
            return []
        subscribed = set(r['mailbox'] for r in
                         self.doveadm_tab('mailbox', 'list', '-s', '-u', user, conf=side))
        fields = 'messages uidvalidity uidnext highestmodseq vsize guid'
        r = self.doveadm('-f', 'tab', 'mailbox', 'status', '-u', user, fields, *names, conf=side)
        status = {row['mailbox']: row for row in parse_tab(r.stdout)}
        su = self._batch_values(side, user, ('mailbox', 'metadata', 'get'),
                                [(n, '/private/specialuse') for n in names])
        out = []
        for n, special in zip(names, su):
            st = status.get(n)
            out.append({
                'name': n,
                'special_use': special or '',
                'subscribed': n in subscribed,
                'selectable': st is not None,
                'uidvalidity': int(st['uidvalidity']) if st else None,
                'uidnext': int(st['uidnext']) if st else None,
                'messages': int(st['messages']) if st else None,
                'highestmodseq': int(st['highestmodseq']) if st else None,
                'vsize': int(st['vsize']) if st else None,
                'guid': st['guid'] if st else None,
            })
        return sorted(out, key=lambda m: m['name'])

    def _batch_values(self, side, user, words, args_list):
        """Run the single-value doveadm mail command `words` (e.g. ('mailbox', 'path')) once per
        args tuple in one `doveadm batch` process; returns one value per args tuple (the tab
        formatter puts all values in one row). Note: batch does not parse sub-command options."""
        if not args_list:
            return []
        sep = '::rig-batch::'
        argv = ['-f', 'tab', 'batch', '-u', user]
        for a in args_list:
            argv += [sep] + list(words) + list(a)
        r = self.doveadm(*argv, conf=side)
        lines = r.stdout.split('\n')
        if r.returncode == 0 and len(lines) >= 2:
            vals = lines[1].split('\t')
            if len(vals) == len(args_list):
                return vals
        # One failing command spoils the row: ask one by one.
        out = []
        for a in args_list:
            r = self.doveadm('-f', 'tab', *words, '-u', user, *a, conf=side)
            rows = parse_tab(r.stdout) if r.returncode == 0 else []
            out.append(list(rows[0].values())[0] if rows else '')
        return out

    def messages(self, side, user, content=True):
        """Every message of every selectable mailbox:
        [{mailbox, uid, guid, message_id, flags (sorted tuple, no \\Recent), date_received (unix
        int), size (physical, as stored on that side), vsize (CRLF size = RFC822.SIZE),
        sha256 (hex of the CRLF-normalized full message, i.e. the bytes an IMAP client gets;
        None with content=False)}], sorted by (mailbox, uid)."""
        out = []
        boxes = [b for b in self.mailboxes(side, user) if b['selectable']]
        paths = {}
        if content and boxes:
            # (no -t: doveadm batch does not parse sub-command options; the default is the
            # mail directory)
            vals = self._batch_values(side, user, ('mailbox', 'path'),
                                      [(b['name'],) for b in boxes])
            paths = {b['name']: v for b, v in zip(boxes, vals)}
        fields = ('mailbox uid guid hdr.message-id flags date.received.unixtime size.physical '
                  'size.virtual')
        # One fetch over all mailboxes when the '*' query covers them (it does not with a
        # namespace prefix like "INBOX."), else one fetch per mailbox (by GUID: names may
        # contain wildcards).
        wanted = {b['name']: b for b in boxes if b['messages']}
        rows = self.doveadm_tab('fetch', '-u', user, fields, 'mailbox', '*', conf=side)
        counts = {}
        for row in rows:
            counts[row['mailbox']] = counts.get(row['mailbox'], 0) + 1
        if counts != {n: b['messages'] for n, b in wanted.items()}:
            rows = []
            for b in wanted.values():
                rows += self.doveadm_tab('fetch', '-u', user, fields, 'mailbox-guid', b['guid'],
                                         'all', conf=side)
        files = {}
        for row in rows:
            name = row['mailbox']
            if content and name not in files:
                files[name] = self._maildir_files(paths.get(name))
            if name not in wanted:
                continue
            b = wanted[name]
            uid = int(row['uid'])
            msg = {
                'mailbox': row['mailbox'],
                'uid': uid,
                'guid': row['guid'],
                'message_id': row['hdr.message-id'],
                'flags': tuple(sorted(f for f in row['flags'].split() if f != r'\Recent')),
                'date_received': int(row['date.received.unixtime']),
                'size': int(row['size.physical']),
                'vsize': int(row['size.virtual']),
                'sha256': None,
            }
            if content:
                path = files[name].get(uid)
                if path is not None:
                    with open(path, 'rb') as f:
                        data = f.read()
                else:
                    data = self._fetch_text(side, user, b['guid'], uid, msg['size'])
                msg['sha256'] = hashlib.sha256(crlf(data)).hexdigest()
            out.append(msg)
        return sorted(out, key=lambda m: (m['mailbox'], m['uid']))

    @staticmethod
    def _maildir_files(path):
        """{uid: file path} from a maildir's dovecot-uidlist (empty if not a maildir)."""
        if not path:
            return {}
        by_base = {}
        for sub in ('cur', 'new'):
            try:
                names = os.listdir(os.path.join(path, sub))
            except OSError:
                continue
            for n in names:
                by_base[n.split(':', 1)[0]] = os.path.join(path, sub, n)
        out = {}
        try:
            with open(os.path.join(path, 'dovecot-uidlist'), errors='surrogateescape') as f:
                f.readline()   # header
                for line in f:
                    head, sep, base = line.rstrip('\n').partition(' :')
                    if not sep:
                        head, sep, base = line.rstrip('\n').partition(':')
                    uid = head.split(' ', 1)[0]
                    if uid.isdigit() and base in by_base:
                        out[int(uid)] = by_base[base]
        except OSError:
            return {}
        return out

    def _fetch_text(self, side, user, box_guid, uid, size):
        """Fallback for non-maildir storage: the full message via doveadm fetch text."""
        argv = self.doveadm_argv('-f', 'pager', 'fetch', '-u', user, 'text',
                                 'mailbox-guid', box_guid, 'uid', str(uid), conf=side)
        r = subprocess.run(argv, capture_output=True, timeout=300)
        if r.returncode != 0:
            raise DoveadmError(r.returncode, argv, r.stdout, r.stderr)
        out = r.stdout
        if out.startswith(b'text:\n'):
            out = out[len(b'text:\n'):]
        return out[:size]

    def quota(self, user):
        """{'STORAGE': {'value': KiB used, 'limit': KiB or None, 'percent': int}, 'MESSAGE': ...}
        from `doveadm quota get` (first quota root)."""
        out = {}
        for row in self.doveadm_tab('quota', 'get', '-u', user, conf='dst'):
            typ = row.get('Type')
            if typ in out:
                continue
            lim = row.get('Limit', '-')
            out[typ] = {'root': row.get('Quota name'), 'value': int(row['Value']),
                        'limit': None if lim in ('-', '') else int(lim),
                        'percent': int(row.get('%') or 0)}
        return out

    # ------------------------------------------------------------------ IMAP

    def ssl_context(self):
        ctx = ssl.create_default_context(cafile=self.ca_file)
        return ctx

    def pop3_uidls(self, port, user, password, tls='none', timeout=30):
        """[(message number, UIDL)] as a POP3 client sees them (poplib; tls 'none', 'starttls'
        or 'pop3s', verifying the rig cert). Reads only (QUIT without DELE)."""
        for inst in (self.src, self.dst):
            if inst is not None and port in inst.ports.values():
                inst.wait_users_visible()
        if tls == 'pop3s':
            c = poplib.POP3_SSL(LOCALHOST, port, context=self.ssl_context(), timeout=timeout)
        else:
            c = poplib.POP3(LOCALHOST, port, timeout=timeout)
            if tls == 'starttls':
                c.stls(context=self.ssl_context())
        try:
            c.user(user)
            c.pass_(password)
            lines = c.uidl()[1]
        finally:
            c.quit()
        out = []
        for line in lines:
            num, uidl = line.decode('ascii').split(' ', 1)
            out.append((int(num), uidl))
        return out

    def imap_login(self, port, user, password, tls='none', timeout=30):
        """A logged-in imaplib client. tls: 'none', 'starttls' or 'imaps' (both verify the rig
        cert).
        Use as a context manager (logs out on exit)."""
        for inst in (self.src, self.dst):
            if inst is not None and port in inst.ports.values():
                inst.wait_users_visible()
        if tls == 'imaps':
            c = imaplib.IMAP4_SSL(LOCALHOST, port, ssl_context=self.ssl_context(), timeout=timeout)
        else:
            c = imaplib.IMAP4(LOCALHOST, port, timeout=timeout)
            if tls == 'starttls':
                c.starttls(ssl_context=self.ssl_context())
            elif tls != 'none':
                raise ValueError(tls)
        try:
            c.login(user, password)
        except BaseException:
            try:
                c.shutdown()
            except OSError:
                pass
            raise
        return c


def build_dir_default():
    return build_dir()


def project(msgs, keys=('mailbox', 'message_id', 'flags', 'date_received', 'vsize', 'sha256')):
    """Sorted list of tuples of the given keys: compare two sides or a side with a corpus."""
    return sorted(tuple(m[k] for k in keys) for m in msgs)


if __name__ == '__main__' and sys.argv[1:] == ['--watchdog']:
    _watchdog_main()
