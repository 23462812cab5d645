#!/usr/bin/python3
"""What `doveadm migrate schedule-due -A` costs each minute (the packaged timer's command).

    sudo python3 bench/schedule_due.py [--users 1000] [--scheduled 10] [--rounds 5] [--json out.json]

One destination Dovecot (no source), --users users in its passwd-file userdb, --scheduled of them
with a schedule whose first pass is a day away (schedule-due reads it, decides "waiting" and
starts nothing). Timed, --rounds times each, wall clock of the whole doveadm process:
  user-iterate   `doveadm user -A`-like baseline: `doveadm user '*'` (the userdb iteration alone)
  status-A       `doveadm migrate status -A` (one status file read per user)
  schedule-due-A `doveadm migrate schedule-due -A` (one stat() per user, the scheduled ones read)
Reported: median and min in ms, and per user in microseconds.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'dovecot'))

from rig import MAIL_GID, MAIL_UID, Rig  # noqa: E402


def log(msg):
    sys.stderr.write('[schedule-due-bench %s] %s\n' % (time.strftime('%H:%M:%S'), msg))
    sys.stderr.flush()


def write_schedule(rig, user, first_at):
    """A waiting schedule and a stored job, as migrate start --at writes them."""
    d = rig.state_dir(user)
    os.makedirs(d, exist_ok=True)
    for p in (rig.dst_home(user), os.path.dirname(d), d):
        if p.startswith(rig.dst_home(user)):
            os.chown(p, MAIL_UID, MAIL_GID)
    files = {
        'schedule': 'dovecot-migrate-schedule\t1\ncreated\t%d\nfirst_at\t%d\nsecond_after\t82800\n' % (
            time.time(), first_at),
        'job': 'dovecot-migrate-job\t1\ncreated\t%d\ntrigger\tpanel\npaused\t0\nsecret\t0\n' % time.time(),
    }
    for name, text in files.items():
        path = os.path.join(d, 'dovecot-migrate.' + name)
        with open(path, 'w') as f:
            f.write(text)
        os.chown(path, MAIL_UID, MAIL_GID)


def timed(rig, argv, rounds):
    samples = []
    out = None
    for _ in range(rounds):
        full = rig.doveadm_argv(*argv)
        t0 = time.perf_counter()
        r = subprocess.run(full, capture_output=True, text=True)
        samples.append((time.perf_counter() - t0) * 1000)
        if r.returncode != 0:
            raise SystemExit('%s failed (%d): %s' % (' '.join(argv), r.returncode, r.stderr[-2000:]))
        out = r.stdout
    return samples, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--users', type=int, default=1000)
    ap.add_argument('--scheduled', type=int, default=10)
    ap.add_argument('--rounds', type=int, default=5)
    ap.add_argument('--json', help='write the results here')
    args = ap.parse_args()

    with Rig(name='sched-bench', source=False) as rig:
        log('adding %d users' % args.users)
        names = ['u%05d' % i for i in range(args.users)]
        lines = []
        for n in names:
            # one passwd write for all (add_dest_user rewrites the file per user)
            rig.dst_users[n] = dict(password=None, quota=None, extra={}, line='%s:{PLAIN}x:%d:%d::%s::' % (
                n, MAIL_UID, MAIL_GID, rig.dst_home(n)))
            lines.append(rig.dst_users[n]['line'])
        rig.dst.write_passwd(lines)
        rig.wait_users_visible()
        for n in names[:args.scheduled]:
            write_schedule(rig, n, int(time.time()) + 86400)
        results = {}
        for label, argv in (('user-iterate', ('user', '*')),
                            ('status-A', ('migrate', 'status', '-A')),
                            ('schedule-due-A', ('migrate', 'schedule-due', '-A'))):
            samples, out = timed(rig, argv, args.rounds)
            rows = max(0, len(out.strip().splitlines()) - 1) if out.strip() else 0
            results[label] = {'median_ms': statistics.median(samples), 'min_ms': min(samples),
                              'per_user_us': statistics.median(samples) * 1000 / args.users,
                              'rows': rows, 'samples_ms': samples}
            if label == 'schedule-due-A' and rows != args.scheduled:
                raise SystemExit('schedule-due -A printed %d rows, expected %d:\n%s' % (
                    rows, args.scheduled, out))
            log('%-15s median %8.1f ms  min %8.1f ms  %6.1f us/user  (%d rows)' % (
                label, results[label]['median_ms'], results[label]['min_ms'],
                results[label]['per_user_us'], rows))
        if args.json:
            with open(args.json, 'w') as f:
                json.dump({'users': args.users, 'scheduled': args.scheduled, 'rounds': args.rounds,
                           'host': platform.node(), 'cpus': os.cpu_count(), 'results': results}, f,
                          indent=1)


if __name__ == '__main__':
    main()
