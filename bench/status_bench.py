#!/usr/bin/python3
"""How long `doveadm migrate status -A` (and HTTP `migrateStatus` with allUsers) takes for many
users, each with a real status file (issue 14: "under a second for 1,000 users").

    sudo python3 bench/status_bench.py [--users 1000] [--rounds 5] [--json out.json]

One rig (destination Dovecot on loopback, passwd-file userdb, maildir:~/Maildir). One real
migration of a tiny mailbox writes a real dovecot-migrate.status; its file is copied into the
state directory (INBOX's control directory, ~/Maildir) of every other user, so that every row
is read and computed as in production. A second real run, killed while running, gives a
"running" file whose process is gone: --interrupted N users get that one (their rows are
"interrupted", which costs a liveness check of the pid). Then, --rounds times each (median):
  cli   doveadm -f tab migrate status -A       (the rig's private mount namespace wrapper, which
                                                costs a few ms, is included)
  http  POST [["migrateStatus", {"allUsers": true}, "t"]] to the doveadm HTTP API
  floor doveadm -f tab mailbox path -A -t control INBOX   (doveadm's own loop over the users:
                                                userdb lookup and mail_user of each, no file read)
Every answer is checked: one row per user, the expected states, percent 100 for the ok ones.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'dovecot'))

import corpus  # noqa: E402
from rig import MAIL_GID, MAIL_UID, V24, Rig, parse_tab  # noqa: E402

SRC_USER = 'statsrc'
SRC_PW = 'statsrc-pw-0123'


def log(msg):
    sys.stderr.write('[status-bench %s] %s\n' % (time.strftime('%H:%M:%S'), msg))
    sys.stderr.flush()


def add_users_at_once(rig, names):
    """add_dest_user for many users with one passwd-file write (not one per user)."""
    real = rig.dst.write_passwd
    rig.dst.write_passwd = lambda lines: None
    try:
        for n in names:
            rig.add_dest_user(n)
    finally:
        rig.dst.write_passwd = real
    real(u['line'] for u in rig.dst_users.values())


def migrate_argv(rig, user, pwfile, *extra):
    return rig.doveadm_argv('migrate', '-u', user, '--source-host', '127.0.0.1',
                            '--source-port', rig.src_imap_port, '--source-tls', 'none',
                            '--source-user', SRC_USER, '--source-password-file', pwfile, *extra)


def place_status(rig, template_user, user, status_path):
    """Copies a real status file into `user`'s state directory (the same place relative to the
    home as the template user's)."""
    rel = os.path.relpath(rig.state_dir(template_user), rig.dst_home(template_user))
    d = os.path.join(rig.dst_home(user), rel)
    os.makedirs(d, exist_ok=True)
    for p in (rig.dst_home(user), d):
        os.chown(p, MAIL_UID, MAIL_GID)
    target = os.path.join(d, rig.STATE_PREFIX + 'status')
    shutil.copyfile(status_path, target)
    os.chown(target, MAIL_UID, MAIL_GID)


def timed(fn, rounds):
    times = []
    result = None
    for _ in range(rounds):
        t0 = time.monotonic()
        result = fn()
        times.append(time.monotonic() - t0)
    return times, result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument('--users', type=int, default=1000, help='users with a status file')
    ap.add_argument('--interrupted', type=int, default=50,
                    help='of those, users whose file says "running" with a dead pid')
    ap.add_argument('--never', type=int, default=0, help='more users without any status file')
    ap.add_argument('--rounds', type=int, default=5)
    ap.add_argument('--json', help='write the results as JSON to this path')
    ap.add_argument('--build-dir', default=os.environ.get('MIGRATE_BUILD_DIR',
                                                          os.path.join(HERE, '..', 'build')))
    ap.add_argument('--keep', action='store_true')
    a = ap.parse_args()
    out = {'started': datetime.datetime.now().isoformat(timespec='seconds'),
           'params': vars(a).copy(),
           'env': {'dovecot': subprocess.run(['dovecot', '--version'], capture_output=True,
                                             text=True).stdout.strip(),
                   'kernel': platform.release(), 'cpus': os.cpu_count(), 'v24': V24}}
    with Rig(name='statbench', build_dir=a.build_dir, keep=a.keep) as rig:
        if not rig.has_dev_doveadm_module:
            log('SKIP: no built doveadm module in %s' % a.build_dir)
            return 0
        rig.add_source_user(SRC_USER, SRC_PW)
        rig.load_source(SRC_USER, corpus.simple_corpus(
            20, folders=(('INBOX',), ('Work',)), tag='statbench', size=4000))
        pwfile = rig.password_file(SRC_PW)
        users = ['user%04d' % i for i in range(a.users)]
        never = ['never%04d' % i for i in range(a.never)]
        t0 = time.monotonic()
        add_users_at_once(rig, users + never)
        log('%d users in the passwd-file (%.1f s)' % (len(users) + len(never),
                                                       time.monotonic() - t0))

        # The real files: an ok run, and a run killed with -9 while running.
        r = subprocess.run(migrate_argv(rig, users[0], pwfile), capture_output=True, text=True,
                           timeout=300)
        if r.returncode != 0:
            raise SystemExit('the template run failed: %s%s' % (r.stdout, r.stderr))
        ok_file = rig.state_path(users[0], 'status')
        interrupted_file = None
        if a.interrupted > 0 and len(users) > 1:
            victim = users[-1]
            p = subprocess.Popen(migrate_argv(rig, victim, pwfile, '--max-rate', '2K'),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            path = rig.state_path(victim, 'status')
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    text = open(path).read()
                except OSError:
                    text = ''
                if '\nstate\trunning\n' in text and '\ntotal_bytes\t\n' not in text:
                    break
                time.sleep(0.2)
            p.kill()
            p.wait()
            interrupted_file = os.path.join(rig.dir, 'interrupted.status')
            shutil.copyfile(path, interrupted_file)
        t0 = time.monotonic()
        expected = {users[0]: 'ok'}
        for i, u in enumerate(users[1:], 1):
            if interrupted_file and i >= len(users) - a.interrupted:
                place_status(rig, users[0], u, interrupted_file)
                expected[u] = 'interrupted'
            else:
                place_status(rig, users[0], u, ok_file)
                expected[u] = 'ok'
        for u in never:
            expected[u] = 'never'
        log('status files placed (%.1f s): %d ok, %d interrupted, %d never' % (
            time.monotonic() - t0, list(expected.values()).count('ok'),
            list(expected.values()).count('interrupted'), len(never)))
        out['status_file_example'] = open(ok_file).read()

        def check(rows, key_user):
            got = {r[key_user]: r['state'] for r in rows}
            if got != expected:
                wrong = sorted(set(got.items()) ^ set(expected.items()))[:5]
                raise SystemExit('unexpected rows (%d, want %d): %s' % (len(got), len(expected),
                                                                        wrong))
            for r in rows:
                if r['state'] == 'ok' and r['percent'] != '100':
                    raise SystemExit('ok row without percent 100: %s' % r)

        def cli():
            r = subprocess.run(rig.doveadm_argv('-f', 'tab', 'migrate', 'status', '-A'),
                               capture_output=True, text=True, timeout=300)
            if r.returncode != 0:
                raise SystemExit('migrate status -A: exit %d: %s' % (r.returncode, r.stderr[-2000:]))
            return parse_tab(r.stdout)

        def http():
            resp = rig.http_api([['migrateStatus', {'allUsers': True}, 'all']], timeout=300)
            if resp[0][0] != 'doveadmResponse':
                raise SystemExit('migrateStatus allUsers: %s' % resp)
            return resp[0][1]

        cli()   # warm: page cache, auth's passwd-file cache
        cli_times, rows = timed(cli, a.rounds)
        check(rows, 'Username')
        http_times, rows = timed(http, a.rounds)
        check(rows, 'username')

        def floor():
            r = subprocess.run(rig.doveadm_argv('-f', 'tab', 'mailbox', 'path', '-A', '-t',
                                                'control', 'INBOX'),
                               capture_output=True, text=True, timeout=300)
            if r.returncode != 0:
                raise SystemExit('mailbox path -A: exit %d: %s' % (r.returncode, r.stderr[-2000:]))
            return parse_tab(r.stdout)

        floor_times, floor_rows = timed(floor, a.rounds)
        if len(floor_rows) != len(expected):
            raise SystemExit('mailbox path -A: %d rows, want %d' % (len(floor_rows), len(expected)))
        out['results'] = {
            'rows': len(rows),
            'cli_seconds': cli_times, 'cli_median': statistics.median(cli_times),
            'http_seconds': http_times, 'http_median': statistics.median(http_times),
            'http_response_bytes': len(json.dumps(rows)),
            'floor_seconds': floor_times, 'floor_median': statistics.median(floor_times),
        }
        log('%d rows: cli median %.3f s (%s), http median %.3f s (%s), floor median %.3f s (%s)' % (
            len(rows), out['results']['cli_median'],
            ' '.join('%.3f' % t for t in cli_times), out['results']['http_median'],
            ' '.join('%.3f' % t for t in http_times), out['results']['floor_median'],
            ' '.join('%.3f' % t for t in floor_times)))
    if a.json:
        with open(a.json, 'w') as f:
            json.dump(out, f, indent=1)
    print(json.dumps(out['results'], indent=1))
    return 0


if __name__ == '__main__':
    sys.exit(main())
