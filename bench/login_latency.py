#!/usr/bin/python3
"""What the first-login plugin adds to an IMAP login (issue 5: target under 10 ms).

    sudo python3 bench/login_latency.py [--logins 200] [--first 30] [--json out.json]

One rig (source and destination Dovecot 2.3 on loopback), users authenticated the way the
first-login recipe does it: passdb imap against the source, the login password handed over with
override_fields = userdb_migrate_source_password=%w. Each sample is one new IMAP connection to the
destination, timed from before LOGIN to the end of SELECT INBOX (connect and LOGOUT not included).

Phases, in this order:
  off-first  the plugin not in mail_plugins; each login is a fresh user's first (the destination
             creates the home and INBOX)
  off        the plugin not loaded; users that have logged in before
  on-done    the plugin loaded with migrate_on_login = yes; users whose migration finished
             (status "ok"): the decision from dovecot-migrate.status, every later login pays this
  on-first   the plugin on; each login is a fresh user's first: the hook forks and starts
             `doveadm migrate` in the background (the previous run is waited for, untimed, so
             that runs do not pile up on the CPU)
Every source mailbox holds --messages small messages (default 5), so the background runs are short.
Reported: median, p95, min, max in ms, the medians' differences (on-done - off,
on-first - off-first): what the plugin costs a login, and the hook's own time from the plugin's
log line. The background run is niced (10) but still shares the CPUs with the login it follows.
"""

import argparse
import imaplib
import json
import os
import platform
import re
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'dovecot'))

import corpus  # noqa: E402
from rig import LOCALHOST, Rig, mail_plugins_conf, settings_conf  # noqa: E402

def plugin_on_conf(port):
    """The first-login plugin in imap, migrating from the rig's source."""
    return ('protocol imap {\n%s}\n' % mail_plugins_conf('migrate', '  ') +
            settings_conf({'migrate_on_login': 'yes', 'migrate_source_host': LOCALHOST,
                           'migrate_source_port': port, 'migrate_source_tls': 'none'}))


def log(msg):
    sys.stderr.write('[login-bench %s] %s\n' % (time.strftime('%H:%M:%S'), msg))
    sys.stderr.flush()


def timed_login(port, user, password):
    """Seconds from LOGIN to the end of SELECT INBOX on a new connection."""
    c = imaplib.IMAP4(LOCALHOST, port, timeout=60)
    try:
        t0 = time.perf_counter()
        c.login(user, password)
        typ, data = c.select('INBOX')
        t = time.perf_counter() - t0
        if typ != 'OK':
            raise RuntimeError('SELECT INBOX failed for %s: %r' % (user, data))
        c.logout()
        return t
    finally:
        try:
            c.shutdown()
        except OSError:
            pass


def summary(samples):
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    return {'n': len(ms), 'median_ms': round(statistics.median(ms), 2), 'p95_ms': round(p95, 2),
            'min_ms': round(ms[0], 2), 'max_ms': round(ms[-1], 2)}


def status_state(rig, user):
    try:
        with open(rig.state_path(user, 'status')) as f:
            for line in f:
                k, _, v = line.rstrip('\n').partition('\t')
                if k == 'state':
                    return v
    except FileNotFoundError:
        pass
    return None


def wait_finished(rig, user, timeout=120):
    """Until the user's background run has written a final state."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rig.check_background_run(user)
        state = status_state(rig, user)
        if state not in (None, 'running'):
            return state
        time.sleep(0.02)
    raise RuntimeError('the background migration of %s did not finish:\n%s' % (
        user, rig.logs_tail()))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--logins', type=int, default=200,
                    help='timed logins in the off / on-done phases')
    ap.add_argument('--first', type=int, default=30, help='fresh users in each *-first phase')
    ap.add_argument('--users', type=int, default=20,
                    help='users the off / on-done logins cycle over')
    ap.add_argument('--messages', type=int, default=5, help='messages in each source mailbox')
    ap.add_argument('--build-dir', help='default $MIGRATE_BUILD_DIR or build/')
    ap.add_argument('--json', help='write the results here')
    ap.add_argument('--keep', action='store_true', help='keep the rig directory')
    args = ap.parse_args()

    rig = Rig(name='login-bench', build_dir=args.build_dir, keep=args.keep or None,
              dst_passdb_override_fields='userdb_migrate_source_password=%w')
    if not any(p.endswith('lib95_migrate_plugin.so') for p in rig.dev_mail_modules()):
        sys.exit('no built mail plugin (plugin/mail_plugin/lib95_migrate_plugin.so) in %s' %
                 rig.build_dir)
    results = {}
    with rig:
        warm = ['warm%d' % i for i in range(args.users)]
        off_first = ['offfirst%d' % i for i in range(args.first)]
        on_first = ['onfirst%d' % i for i in range(args.first)]
        for i, u in enumerate(warm + off_first + on_first):
            pw = 'pw-%s-%d' % (u, i)
            rig.add_source_user(u, pw)
            rig.load_source(u, corpus.simple_corpus(args.messages, tag=u))
        rig.src.wait_users_visible()
        port = rig.dst_imap_port

        def pw(u):
            return rig.src_users[u]

        log('off-first: %d first logins without the plugin' % args.first)
        results['off-first'] = [timed_login(port, u, pw(u)) for u in off_first]
        for u in warm:   # their first login, untimed
            timed_login(port, u, pw(u))
        log('off: %d logins without the plugin' % args.logins)
        results['off'] = [timed_login(port, warm[i % len(warm)], pw(warm[i % len(warm)]))
                          for i in range(args.logins)]

        rig.set_dest_extra_conf(plugin_on_conf(rig.src_imap_port))
        for u in warm:   # migrate them, untimed
            timed_login(port, u, pw(u))
            if wait_finished(rig, u) != 'ok':
                raise RuntimeError('migration of %s failed:\n%s' % (u, rig.logs_tail()))
        log('on-done: %d logins with the plugin, migrations finished' % args.logins)
        results['on-done'] = [timed_login(port, warm[i % len(warm)], pw(warm[i % len(warm)]))
                              for i in range(args.logins)]
        log('on-first: %d first logins with the plugin (each starts a migration)' % args.first)
        samples = []
        for u in on_first:
            samples.append(timed_login(port, u, pw(u)))
            if wait_finished(rig, u) != 'ok':
                raise RuntimeError('migration of %s failed:\n%s' % (u, rig.logs_tail()))
        results['on-first'] = samples
        # The hook's own time, as the plugin logs it ("... in the background in 0.6 ms").
        hook_ms = [float(m) for m in re.findall(
            r'started the migration of onfirst\d+ from .* in the background in ([0-9.]+) ms',
            rig.dst.log_text())]

    table = {k: summary(v) for k, v in results.items()}
    added = {
        'on-done - off (median ms)': round(
            table['on-done']['median_ms'] - table['off']['median_ms'], 2),
        'on-first - off-first (median ms)': round(
            table['on-first']['median_ms'] - table['off-first']['median_ms'], 2),
        'on-first - off-first (p95 ms)': round(
            table['on-first']['p95_ms'] - table['off-first']['p95_ms'], 2),
    }
    print('%-10s %5s %9s %9s %9s %9s' % ('phase', 'n', 'median', 'p95', 'min', 'max'))
    for k in ('off-first', 'on-first', 'off', 'on-done'):
        s = table[k]
        print('%-10s %5d %9.2f %9.2f %9.2f %9.2f' % (k, s['n'], s['median_ms'], s['p95_ms'],
                                                     s['min_ms'], s['max_ms']))
    for k, v in added.items():
        print('%s: %+.2f' % (k, v))
    if hook_ms:
        print('hook time when it starts a run (plugin log): median %.2f ms, max %.2f ms' % (
            statistics.median(hook_ms), max(hook_ms)))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump({'summary': table, 'added': added, 'hook_ms': hook_ms, 'samples_ms': {
                k: [round(x * 1000, 3) for x in v] for k, v in results.items()},
                'env': {'kernel': platform.release(), 'cpus': os.cpu_count()}}, f, indent=1)


if __name__ == '__main__':
    main()
