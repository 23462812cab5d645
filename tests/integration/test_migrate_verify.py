"""`doveadm migrate verify` end to end between two real Dovecots: after a migration it says
"complete" (exit 0) and changes nothing at either end; `migrate status` shows the result; a body
changed here with the same size is found only by --full; then mail added, flagged and deleted at
the source and mail deleted and delivered here are each named, with exit 65; -f json carries the
per-folder details; `migrate batch --verify` puts the result into report.json."""

import glob
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from migrate_helpers import (  # noqa: E402
    MigrateRun, Rig, corpus, migrate, migrate_argv, src_snapshot)

EX_INCOMPLETE = 65  # EX_DATAERR: finished, and mail is missing or differs
VERIFY_KEYS = ('username', 'result', 'folders', 'source_messages', 'matched', 'missing', 'differing',
               'extra', 'local', 'filtered', 'excluded_folders', 'seconds', 'summary', 'details')


def verify(rig, user, *extra, **kw):
    """`doveadm -f FMT migrate verify -u USER ...` with migrate's source options (see migrate_argv)."""
    argv = migrate_argv(rig, user, *extra, **kw)
    argv.insert(argv.index('migrate') + 1, 'verify')
    r = subprocess.run(argv, capture_output=True, text=True, timeout=300, errors='surrogateescape',
                       stdin=subprocess.DEVNULL)
    return MigrateRun(argv, r.returncode, r.stdout, r.stderr, 0, kw.get('fmt', 'tab'))


def dst_snapshot(rig, user):
    """The destination as a verify must leave it: messages with flags and content, folders with
    their UIDVALIDITY/UIDNEXT/HIGHESTMODSEQ."""
    msgs = [{k: m[k] for k in ('mailbox', 'uid', 'guid', 'flags', 'date_received', 'vsize', 'sha256')}
            for m in rig.messages('dst', user)]
    boxes = [{k: b[k] for k in ('name', 'uidvalidity', 'uidnext', 'messages', 'highestmodseq')}
             for b in rig.mailboxes('dst', user)]
    return {'messages': msgs, 'mailboxes': boxes}


class VerifyTest(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.rig = Rig(name='mig-verify')
        self.rig.__enter__()
        self.addCleanup(self.rig.__exit__, None, None, None)
        self.corpus = corpus.simple_corpus(5, folders=(('INBOX',), ('Work',)), tag='verify')
        self.rig.add_source_user('vera', 'vera-pw')
        self.rig.load_source('vera', self.corpus)
        self.rig.add_dest_user('vera')

    def check(self, run, rc, result):
        if run.rc != rc or run.row.get('result') != result:
            self.fail('expected rc %d and %s\n%s\n%s' % (rc, result, run.describe(), self.rig.logs_tail(40)))

    def details(self, run):
        return {f['destination']: f for f in json.loads(run.row['details'])}

    def status_row(self):
        r = self.rig.doveadm('-f', 'json', 'migrate', 'status', '-u', 'vera', check=True)
        return json.loads(r.stdout)[0]

    def change_body_here(self, message_id):
        """Changes one byte of the message's maildir file: same size, same date, same flags."""
        for path in glob.glob(os.path.join(self.rig.dst_home('vera'), 'Maildir', '*', '*')):
            with open(path, 'rb') as f:
                data = f.read()
            if message_id.encode() in data:
                i = data.rindex(b'\n', 0, len(data) - 1) + 1  # the last line's first byte
                data = data[:i] + (b'X' if data[i:i + 1] != b'X' else b'Y') + data[i + 1:]
                with open(path, 'wb') as f:
                    f.write(data)
                return
        self.fail('no maildir file holds %s' % message_id)

    def test_complete_then_every_difference_named_and_nothing_changed(self):
        r = self.rig
        run = migrate(r, 'vera', password='vera-pw')
        self.assertEqual((run.rc, run.row['result']), (0, 'ok'), run.describe())
        total = self.corpus.total_messages
        self.assertEqual(self.status_row()['verify'], 'never')

        # ---- right after the migration: complete, and neither end changed
        src_before, dst_before = src_snapshot(r, 'vera'), dst_snapshot(r, 'vera')
        v = verify(r, 'vera', password='vera-pw', fmt='json')
        self.check(v, 0, 'complete')
        self.assertEqual(sorted(v.row), sorted(VERIFY_KEYS), v.describe())
        self.assertEqual((int(v.row['source_messages']), int(v.row['matched'])), (total, total))
        self.assertEqual([int(v.row[k]) for k in ('missing', 'differing', 'extra', 'local')], [0] * 4)
        self.assertEqual(v.row['summary'], 'ready for cut-over: all %d messages in 2 folders are here' % total)
        self.assertEqual(src_snapshot(r, 'vera'), src_before, 'verify changed the source')
        self.assertEqual(dst_snapshot(r, 'vera'), dst_before, 'verify changed the destination')
        st = self.status_row()
        self.assertEqual(st['verify'], 'complete', st)
        self.assertRegex(st['verified'], r'^\d{4}-\d\d-\d\dT')

        # ---- a body changed here with the same size: only --full sees it
        inbox = [m for m in r.messages('dst', 'vera') if m['mailbox'] == 'INBOX']
        changed = inbox[1]
        self.change_body_here(changed['message_id'])
        self.check(verify(r, 'vera', password='vera-pw', fmt='json'), 0, 'complete')
        full = verify(r, 'vera', '--full', password='vera-pw', fmt='json')
        self.check(full, EX_INCOMPLETE, 'incomplete')
        diffs = self.details(full)['INBOX']['differences']
        self.assertEqual([(d['what'], d['uid']) for d in diffs], [('body', changed['uid'])], full.describe())
        self.assertEqual(self.status_row()['verify'], 'incomplete')

        # ---- changes at the source and here
        src_inbox = [m for m in r.messages('src', 'vera') if m['mailbox'] == 'INBOX']
        flagged, deleted = src_inbox[2], src_inbox[3]
        r.doveadm('flags', 'add', '-u', 'vera', '\\Flagged', 'mailbox', 'INBOX', 'uid', str(flagged['uid']),
                  conf='src', check=True)
        r.doveadm('expunge', '-u', 'vera', 'mailbox', 'INBOX', 'uid', str(deleted['uid']), conf='src', check=True)
        r.doveadm('save', '-u', 'vera', '-m', 'INBOX', conf='src', check=True, text=False,
                  input=corpus.make_message('New at the source', 'after the last pass\n', msgid='late@src'))
        new_uid = max(m['uid'] for m in r.messages('src', 'vera') if m['mailbox'] == 'INBOX')
        work_here = [m for m in r.messages('dst', 'vera') if m['mailbox'] == 'Work']
        r.doveadm('expunge', '-u', 'vera', 'mailbox', 'Work', 'uid', str(work_here[0]['uid']), check=True)
        r.doveadm('save', '-u', 'vera', '-m', 'INBOX', check=True, text=False,
                  input=corpus.make_message('Delivered here', 'after the MX switch\n', msgid='local@dst'))
        dst_before = dst_snapshot(r, 'vera')

        v = verify(r, 'vera', password='vera-pw', fmt='json')
        self.check(v, EX_INCOMPLETE, 'incomplete')
        d = self.details(v)
        self.assertEqual(d['INBOX']['missing'], [new_uid], v.describe())
        self.assertEqual([(x['what'], x['source_uid']) for x in d['INBOX']['differences']],
                         [('flags', flagged['uid'])], v.describe())
        self.assertEqual([x['source_uid'] for x in d['INBOX']['extra']], [deleted['uid']])
        self.assertEqual(d['INBOX']['local'], 1, 'mail delivered here is counted, not called extra')
        self.assertEqual(d['Work']['missing'], [work_here[0]['uid']], 'the UIDs were kept')
        self.assertEqual([int(v.row[k]) for k in ('missing', 'differing', 'extra', 'local')], [2, 1, 1, 1])
        self.assertIn('NOT ready for cut-over', v.row['summary'])
        self.assertEqual(dst_snapshot(r, 'vera'), dst_before, 'verify changed the destination')

        # ---- the table output names the folders and UIDs in the log
        t = verify(r, 'vera', password='vera-pw')
        self.assertEqual(t.rc, EX_INCOMPLETE, t.describe())
        self.assertIn('INBOX: ', t.err)
        self.assertIn('missing source UIDs %d' % new_uid, t.err)
        self.assertIn('here but gone at the source', t.err)

        # ---- a delta pass brings the new mail and the flag; the copy of the deleted one stays
        self.assertEqual(migrate(r, 'vera', password='vera-pw').rc, 0)
        v = verify(r, 'vera', password='vera-pw', fmt='json')
        self.assertEqual([int(v.row[k]) for k in ('missing', 'differing', 'extra')], [1, 0, 1], v.describe())

    def test_batch_verify_writes_the_result_into_the_report(self):
        r = self.rig
        self.assertEqual(migrate(r, 'vera', password='vera-pw').rc, 0)
        path = os.path.join(r.dir, 'verify-pairs.txt')
        with open(path, 'w') as f:
            f.write('vera vera-pw\n')
        os.chmod(path, 0o600)

        def batch(rdir):
            argv = r.doveadm_argv('migrate', 'batch', '--verify', '-H', '127.0.0.1', '-P', str(r.src_imap_port),
                                  '-T', 'none', '-r', rdir, path)
            return subprocess.run(argv, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)

        rdir = os.path.join(r.dir, 'verify-report-1')
        b = batch(rdir)
        self.assertEqual(b.returncode, 0, b.stdout + b.stderr)
        self.assertIn('line 1 vera: complete: ready for cut-over', b.stdout)
        with open(os.path.join(rdir, 'report.json')) as f:
            report = json.load(f)
        self.assertEqual(report['command'], 'batch --verify')
        box = report['mailboxes'][0]
        self.assertEqual((box['result'], box['verify']['matched']), ('complete', self.corpus.total_messages))
        self.assertEqual(report['totals']['complete'], 1)

        src_inbox = [m for m in r.messages('src', 'vera') if m['mailbox'] == 'INBOX']
        r.doveadm('expunge', '-u', 'vera', 'mailbox', 'INBOX', 'uid', str(src_inbox[0]['uid']), conf='src',
                  check=True)
        rdir = os.path.join(r.dir, 'verify-report-2')
        b = batch(rdir)
        self.assertEqual(b.returncode, EX_INCOMPLETE, b.stdout + b.stderr)
        self.assertIn('line 1 vera: incomplete: NOT ready for cut-over', b.stdout)
        with open(os.path.join(rdir, 'report.json')) as f:
            box = json.load(f)['mailboxes'][0]
        self.assertEqual(box['verify']['extra'], 1)
        inbox = [x for x in box['verify']['folders'] if x['destination'] == 'INBOX'][0]
        self.assertEqual([x['source_uid'] for x in inbox['extra']], [src_inbox[0]['uid']])
        self.assertEqual(self.rig.doveadm('-f', 'json', 'migrate', 'status', '-u', 'vera', check=True)
                         .stdout.count('"incomplete"'), 1)


if __name__ == '__main__':
    unittest.main()
