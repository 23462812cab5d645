#!/usr/bin/python3
"""How soon a user sees their mail after the first login (issue 5: INBOX first, so that the
newest mail is there within seconds).

    sudo python3 bench/inbox_first.py [--rate 20M] [--inbox 1000] [--rounds 3] [--json out.json]

One rig (source and destination Dovecot 2.3 on loopback) set up as the first-login recipe:
passdb imap against the source, the login password handed to the plugin with
override_fields = userdb_migrate_source_password=%w, migrate_on_login = yes. Each round is a
fresh user whose old account holds an INBOX of --inbox messages (~20 kB) and two bigger folders
(Archive: 3x as many messages of ~60 kB; Sent: half as many of ~30 kB). The user logs in over
IMAP and keeps the connection; that same connection asks STATUS INBOX (MESSAGES) every 50 ms,
as a mail client would see it. --rate is the per-user migrate_max_rate (the old server's
bandwidth; 0 = loopback speed).

Reported per round, in seconds from the LOGIN command: the first INBOX message visible, the
whole INBOX visible (the newest message included: messages are copied in UID order), and the
run finished (every folder). INBOX completes when its own bytes are through, whatever the size
of the other folders.
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
from login_latency import plugin_on_conf, status_state  # noqa: E402  (same rig set-up)
from rig import LOCALHOST, Rig  # noqa: E402


def log(msg):
    sys.stderr.write('[inbox-first %s] %s\n' % (time.strftime('%H:%M:%S'), msg))
    sys.stderr.flush()


def inbox_count(conn):
    typ, data = conn.status('INBOX', '(MESSAGES)')
    if typ != 'OK':
        raise RuntimeError('STATUS INBOX failed: %r' % data)
    return int(re.search(rb'MESSAGES (\d+)', data[0]).group(1))


def one_round(rig, user, password, inbox_total, timeout):
    conn = imaplib.IMAP4(LOCALHOST, rig.dst_imap_port, timeout=60)
    try:
        t0 = time.perf_counter()
        conn.login(user, password)
        first = inbox_done = finished = None
        deadline = time.monotonic() + timeout
        while finished is None or inbox_done is None:
            if time.monotonic() > deadline:
                raise RuntimeError('no complete migration of %s within %d s:\n%s' % (
                    user, timeout, rig.logs_tail()))
            rig.check_background_run(user)
            now = time.perf_counter() - t0
            n = inbox_count(conn)
            if first is None and n > 0:
                first = now
            if inbox_done is None and n >= inbox_total:
                inbox_done = now
            state = status_state(rig, user)
            if finished is None and state not in (None, 'running'):
                if state != 'ok':
                    raise RuntimeError('the migration of %s ended %s:\n%s' % (
                        user, state, rig.logs_tail()))
                finished = now
            time.sleep(0.05)
        conn.logout()
        return {'first_inbox_message_s': round(first, 3), 'inbox_complete_s': round(inbox_done, 3),
                'all_folders_s': round(finished, 3)}
    finally:
        try:
            conn.shutdown()
        except OSError:
            pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--rate', default='20M',
                    help="per-user migrate_max_rate, e.g. 20M (the old server's bandwidth); 0: none")
    ap.add_argument('--inbox', type=int, default=1000, help='messages in the source INBOX')
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--timeout', type=int, default=600, help='seconds per round at most')
    ap.add_argument('--build-dir', help='default $MIGRATE_BUILD_DIR or build/')
    ap.add_argument('--json', help='write the results here')
    ap.add_argument('--keep', action='store_true', help='keep the rig directory')
    args = ap.parse_args()

    rig = Rig(name='inbox-first', build_dir=args.build_dir, keep=args.keep or None,
              dst_passdb_override_fields='userdb_migrate_source_password=%w')
    if not any(p.endswith('lib95_migrate_plugin.so') for p in rig.dev_mail_modules()):
        sys.exit('no built mail plugin (plugin/mail_plugin/lib95_migrate_plugin.so) in %s' %
                 rig.build_dir)
    rounds = []
    with rig:
        inbox = corpus.simple_corpus(args.inbox, folders=(('INBOX',),), tag='if-inbox',
                                     size=20000)
        archive = corpus.simple_corpus(args.inbox * 3, folders=(('Archive',),), tag='if-arch',
                                       size=60000)
        sent = corpus.simple_corpus(max(1, args.inbox // 2), folders=(('Sent',),), tag='if-sent',
                                    size=30000)
        sizes = {'INBOX': inbox.total_bytes,
                 'other folders': archive.total_bytes + sent.total_bytes}
        users = ['ifuser%d' % i for i in range(args.rounds)]
        for i, u in enumerate(users):
            rig.add_source_user(u, 'pw-%s-%d' % (u, i))
            for c in (inbox, archive, sent):
                rig.load_source(u, c)
            extra = {'migrate_max_rate': args.rate} if args.rate not in ('', '0') else {}
            rig.add_dest_user(u, extra=extra)
        rig.src.wait_users_visible()
        rig.set_dest_extra_conf(plugin_on_conf(rig.src_imap_port))
        log('source: INBOX %d messages (%.1f MB), other folders %d messages (%.1f MB); rate %s' % (
            len(inbox.messages), sizes['INBOX'] / 1e6,
            len(archive.messages) + len(sent.messages), sizes['other folders'] / 1e6, args.rate))
        for u in users:
            log('round %s' % u)
            r = one_round(rig, u, rig.src_users[u], len(inbox.messages), args.timeout)
            log('  %r' % r)
            rounds.append(r)

    keys = ('first_inbox_message_s', 'inbox_complete_s', 'all_folders_s')
    medians = {k: round(statistics.median(r[k] for r in rounds), 3) for k in keys}
    print('rate %s; INBOX %d msgs / %.1f MB; other folders %.1f MB; %d rounds (medians, s after '
          'LOGIN):' % (args.rate, args.inbox, sizes['INBOX'] / 1e6, sizes['other folders'] / 1e6,
                       len(rounds)))
    for k in keys:
        print('  %-22s %8.2f   (%s)' % (k, medians[k], ', '.join('%.2f' % r[k] for r in rounds)))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump({'rate': args.rate, 'inbox_messages': args.inbox, 'bytes': sizes,
                       'rounds': rounds, 'medians': medians,
                       'env': {'kernel': platform.release(), 'cpus': os.cpu_count()}}, f, indent=1)


if __name__ == '__main__':
    main()
