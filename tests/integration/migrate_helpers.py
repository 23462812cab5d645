"""Shared helpers of the `doveadm migrate` integration tests (tests/integration/test_migrate_*.py).

    from migrate_helpers import Rig, corpus, migrate, expected_messages, ...
    with Rig(name='x') as rig:
        rig.add_source_user('alice', 'alicepw')
        rig.load_source('alice', corpus.edge_corpus('small'))
        rig.add_dest_user('alice')
        run = migrate(rig, 'alice', password='alicepw')       # tls='none', the source's plain port
        assert run.rc == 0 and run.row['result'] == 'ok'
        rc, out, err = run                                      # (also unpacks like a tuple)

Everything an admin would look at: the report row (-f tab parsed, or JSON), the exit code, the
messages (bytes via sha256 of the CRLF form, vsize, flags, INTERNALDATE) and the folders.
"""

import collections
import hashlib
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'dovecot'))

import corpus  # noqa: E402,F401
from rig import Rig, crlf, parse_tab, project, vsize_of, LOCALHOST  # noqa: E402,F401

# sysexits.h, as documented for `doveadm migrate`.
EX_OK = 0
EX_USAGE = 64
EX_NOUSER = 67
EX_SOFTWARE = 70
EX_CANTCREAT = 73   # quota
EX_TEMPFAIL = 75    # dns, connect, timeout, closed, throttled, local storage, cancelled
EX_PROTOCOL = 76
EX_NOPERM = 77      # auth
EX_CONFIG = 78      # config, source is this server
EX_UNAVAILABLE = 69  # TLS

REPORT_KEYS = ('username', 'result', 'folders', 'copied', 'skipped', 'failed', 'flags_updated',
               'expunged', 'moved', 'changed_here', 'bytes',
               'seconds',
               'reconnects', 'waited', 'skip_reasons', 'excluded_folders', 'pop3_uidls', 'sieve',
               'error')
DRY_RUN_KEYS = ('source_messages', 'source_bytes', 'pending', 'quota_free')

# Content identity of a message as an admin compares it: where it is, its bytes, flags and date.
CONTENT_KEYS = ('mailbox', 'message_id', 'flags', 'date_received', 'vsize', 'sha256')


class MigrateRun:
    """One `doveadm migrate` run: rc, out, err, argv, seconds and the parsed report rows.
    Unpacks as (rc, out, err)."""

    def __init__(self, argv, rc, out, err, seconds, fmt):
        self.argv = argv
        self.rc = rc
        self.out = out
        self.err = err
        self.seconds = seconds
        self.fmt = fmt

    def __iter__(self):
        return iter((self.rc, self.out, self.err))

    @property
    def rows(self):
        if self.fmt == 'json':
            return json.loads(self.out) if self.out.strip() else []
        if self.fmt == 'tab':
            # (doveadm's sticky user column is titled "Username" in tab output, "username" in
            # JSON)
            return [{k.lower(): v for k, v in row.items()} for row in parse_tab(self.out)]
        raise ValueError('rows only for -f tab / json')

    @property
    def row(self):
        rows = self.rows
        if len(rows) != 1:
            raise AssertionError('expected one report row, got %r\n%s' % (rows, self.describe()))
        return rows[0]

    @property
    def text(self):
        """stdout + stderr: where an admin reads the words."""
        return self.out + '\n' + self.err

    def describe(self):
        return 'argv: %s\nrc: %s\n--- stdout ---\n%s\n--- stderr ---\n%s' % (
            ' '.join(self.argv), self.rc, self.out, self.err[-6000:])


def migrate_argv(rig, user, *extra, password=None, password_file=None, tls='none', port=None,
                 host=LOCALHOST, source_user=None, ca_file=True, fmt='tab', verbose=False):
    """argv of `doveadm -f FMT migrate -u USER ...` against the rig's source.

    password: written to a 0600 password file (passed by path); password_file: an existing one;
    both None: no password option (it must come from the userdb). tls: 'none' (plain port),
    'starttls' (plain port) or 'imaps' (imaps port), or None to give no --source-tls. ca_file:
    True = the rig CA for starttls/imaps, a path, or None/False for none. host/port/source_user
    None: option left out (the userdb may give it)."""
    args = ['-f', fmt, 'migrate', '-u', user]
    if host is not None:
        args += ['--source-host', host]
    if port is None and host is not None:
        port = rig.src_imaps_port if tls == 'imaps' else rig.src_imap_port
    if port is not None:
        args += ['--source-port', str(port)]
    if tls is not None:
        args += ['--source-tls', tls]
    if source_user is None and host is not None:
        source_user = user
    if source_user is not None:
        args += ['--source-user', source_user]
    if password is not None:
        password_file = rig.password_file(password)
    if password_file is not None:
        args += ['--source-password-file', password_file]
    if ca_file is True:
        ca_file = rig.ca_file if tls in ('imaps', 'starttls') else None
    if ca_file:
        args += ['--ca-file', ca_file]
    if verbose:
        args.append('-v')
    args += list(extra)
    return rig.doveadm_argv(*args)


def migrate(rig, user, *extra, timeout=300, **kw):
    """Run `doveadm migrate` (see migrate_argv for the keywords); returns a MigrateRun."""
    argv = migrate_argv(rig, user, *extra, **kw)
    t0 = time.monotonic()
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                       errors='surrogateescape', stdin=subprocess.DEVNULL)
    return MigrateRun(argv, r.returncode, r.stdout, r.stderr, time.monotonic() - t0,
                      kw.get('fmt', 'tab'))


# --------------------------------------------------------------------------- folder mapping

# Well-known folder names the product maps to special-use folders when the source declares no
# special-use at all (a subset of core/engine/plan.cpp's table: the names the corpus uses).
WELL_KNOWN = {
    'sent': r'\Sent', 'sent items': r'\Sent', 'sent messages': r'\Sent',
    'drafts': r'\Drafts', 'entwürfe': r'\Drafts',
    'trash': r'\Trash', 'deleted items': r'\Trash', 'deleted messages': r'\Trash',
    'junk': r'\Junk', 'junk e-mail': r'\Junk', 'spam': r'\Junk',
    'archive': r'\Archive',
}


def source_levels(rig, folder_name):
    """A corpus folder name (tuple) -> levels relative to the source's namespace prefix."""
    comps = tuple(folder_name)
    if rig.src_sep == '.' and comps[0] == 'INBOX' and len(comps) > 1:
        comps = comps[1:]
    return comps


def source_special_use(rig, levels):
    """The special-use a source folder has for the product: the source's declared attribute if
    the source declares any special-use, else by its well-known name."""
    if rig.src_special_use:
        return rig.src_special_use.get('/'.join(levels) if rig.src_sep == '/'
                                       else '.'.join(levels), '')
    return WELL_KNOWN.get('/'.join(levels).lower(), '')


def dest_special_folders(rig):
    """{special-use flag: destination folder name} from the rig's dest config."""
    out = {}
    for name, v in rig.dst_special_use.items():
        flag = v if isinstance(v, str) else v[0]
        out.setdefault(flag, name)
    return out


def expected_dest_name(rig, folder_name):
    """Where a source corpus folder must land in the destination (separator '/', no prefix,
    Maildir++ storage: a '.' inside a level cannot be stored and becomes '_')."""
    levels = source_levels(rig, folder_name)
    if levels == ('INBOX',):
        return 'INBOX'
    dest_special = dest_special_folders(rig)
    # The folder itself or its nearest special-use ancestor re-roots it.
    for n in range(len(levels), 0, -1):
        use = source_special_use(rig, levels[:n])
        if use and use in dest_special:
            rest = [l.replace('.', '_') for l in levels[n:]]
            return '/'.join([dest_special[use]] + rest)
    return '/'.join(l.replace('.', '_') for l in levels)


def name_map(rig, c):
    """{source vname: expected destination vname} for every folder of corpus c."""
    return {rig.src_vname(f.name): expected_dest_name(rig, f.name) for f in c.folders}


def expected_messages(rig, c, keys=CONTENT_KEYS):
    """project() of what the destination must hold after migrating corpus c."""
    out = []
    for f in c.folders:
        box = expected_dest_name(rig, f.name)
        for m in f.messages:
            d = {'mailbox': box, 'message_id': m.message_id, 'flags': m.flags,
                 'date_received': m.internaldate, 'vsize': vsize_of(m.data),
                 'sha256': hashlib.sha256(crlf(m.data)).hexdigest()}
            out.append(tuple(d[k] for k in keys))
    return sorted(out)


def expected_from_source(rig, src_msgs, c=None, keys=CONTENT_KEYS):
    """project() of the source's messages (rig.messages('src', ...)) with mailboxes mapped to
    their expected destination names."""
    mapping = {}
    if c is not None:
        mapping = name_map(rig, c)
    out = []
    for m in src_msgs:
        d = dict(m)
        box = m['mailbox']
        if box not in mapping:
            # derive it: strip the prefix, split on the source separator
            rel = box[len(rig.src_prefix):] if rig.src_prefix and box.startswith(
                rig.src_prefix) else box
            mapping[box] = expected_dest_name(rig, tuple(rel.split(rig.src_sep)))
        d['mailbox'] = mapping[box]
        out.append(tuple(d[k] for k in keys))
    return sorted(out)


def content_multiset(msgs):
    """Counter of (mailbox, sha256): duplicates show up as counts > 1."""
    return collections.Counter((m['mailbox'], m['sha256']) for m in msgs)


def duplicates(msgs, expected):
    """{(mailbox, sha256): extra copies} of msgs beyond what `expected` (a list of project()
    tuples with CONTENT_KEYS, or of message dicts) holds: extra copies of one message."""
    if expected and isinstance(expected[0], tuple):
        i_box, i_sha = CONTENT_KEYS.index('mailbox'), CONTENT_KEYS.index('sha256')
        want = collections.Counter((e[i_box], e[i_sha]) for e in expected)
    else:
        want = content_multiset(expected)
    have = content_multiset(msgs)
    return {k: n - want.get(k, 0) for k, n in have.items() if n > want.get(k, 0)}


def per_folder_counts(msgs):
    return collections.Counter(m['mailbox'] for m in msgs)


def src_snapshot(rig, user):
    """Everything about the source that a migration must not change: every message with flags
    and content, and every folder's UIDVALIDITY/UIDNEXT/HIGHESTMODSEQ/count/subscription."""
    msgs = [{k: m[k] for k in ('mailbox', 'uid', 'guid', 'flags', 'date_received', 'vsize',
                               'sha256')} for m in rig.messages('src', user)]
    boxes = [{k: b[k] for k in ('name', 'subscribed', 'selectable', 'uidvalidity', 'uidnext',
                                'messages', 'highestmodseq', 'special_use')}
             for b in rig.mailboxes('src', user)]
    return {'messages': msgs, 'mailboxes': boxes}


def state_files(rig, user):
    """Paths of the tool's files (dovecot-migrate.*) of the destination user."""
    d = rig.state_dir(user)
    try:
        names = os.listdir(d)
    except FileNotFoundError:
        return []
    return sorted(os.path.join(d, n) for n in names if n.startswith(rig.STATE_PREFIX))


def proc_comm(pid):
    try:
        with open('/proc/%d/comm' % pid) as f:
            return f.read().strip()
    except OSError:
        return ''


def proc_cmdline(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            return f.read().split(b'\0')
    except OSError:
        return []


def api_params(rig, user, source_user, **extra):
    """The parameters of a migrate command over the HTTP API against the rig's source (plain
    IMAP on loopback), plus `extra` (e.g. sourcePassword=...)."""
    p = {'user': user, 'sourceHost': '127.0.0.1', 'sourcePort': str(rig.src_imap_port),
         'sourceTls': 'none', 'sourceUser': source_user}
    p.update(extra)
    return p


def wait_for(pred, timeout=60, step=0.2):
    """pred()'s first true value within `timeout` seconds (polled every `step`), else None."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return None


def read_status(rig, user):
    """The user's run status (dovecot-migrate.status) as a dict, or None before a run wrote it."""
    path = rig.state_path(user, 'status')
    try:
        with open(path, encoding='utf-8') as f:
            return dict(line.rstrip('\n').partition('\t')[::2] for line in f)
    except FileNotFoundError:
        return None


def wait_for_exec(pid, name='doveadm', timeout=10):
    """Wait until pid has exec'd `name` (the rig's argv runs unshare -> sh -> exec doveadm)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc_comm(pid) == name:
            return True
        time.sleep(0.002)
    return False


# --------------------------------------------------------------------------- secrets

def run_watching_argv(argv, marker, timeout=300):
    """Run `doveadm migrate` and read the running doveadm's command line (as ps shows it) while
    it runs; returns (MigrateRun, [argv bytes]). doveadm re-executes itself through doveconf
    once, and /proc/PID/cmdline reads empty in that instant: read until an argument contains
    `marker` (a string the command line surely holds, e.g. a file name)."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, errors='surrogateescape')
    cmdline = []
    if wait_for_exec(p.pid):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and p.poll() is None:
            seen = proc_cmdline(p.pid)
            if any(marker.encode() in a for a in seen):
                cmdline = seen
                break
            time.sleep(0.002)
    out, err = p.communicate(timeout=timeout)
    return MigrateRun(argv, p.returncode, out, err, time.monotonic() - t0, 'tab'), cmdline


def secret_leaks(rig, secret, user, run=None, cmdline=(), dirs=()):
    """Where `secret` shows up: the run's stdout/stderr, the command line, both Dovecot logs,
    the user's dovecot-migrate.* files and under `dirs` (e.g. a --rawlog directory). Empty
    when it is nowhere."""
    s = secret.encode()
    found = []
    if run is not None:
        if secret in run.out:
            found.append('stdout')
        if secret in run.err:
            found.append('stderr')
    if any(s in a for a in cmdline):
        found.append('command line')
    for side, inst in (('src', rig.src), ('dst', rig.dst)):
        if inst is not None and secret in inst.log_text():
            found.append('%s log' % side)
    files = state_files(rig, user)
    for d in dirs:
        for root, _, names in os.walk(d):
            files += [os.path.join(root, n) for n in names]
    for path in files:
        with open(path, 'rb') as f:
            if s in f.read():
                found.append(path)
    return found
