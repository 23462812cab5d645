"""`doveadm migrate` end to end between two real Dovecots: fidelity (bytes, flags, keywords,
INTERNALDATE), folder mapping (mUTF-7, '&', 5 levels, empty folder, subscriptions, special-use
by attribute and by name, '.' separator with "INBOX." prefix, a name the destination cannot
hold), UIDVALIDITY/UIDs kept, dry run, second run, delta run with flag changes, local mail kept,
the source left untouched, -f json, --source-master-user, -F with one row per user, and the
doveadm HTTP API with every setting from userdb fields."""

import imaplib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from migrate_helpers import (  # noqa: E402
    CONTENT_KEYS, DRY_RUN_KEYS, EX_NOPERM, REPORT_KEYS, MigrateRun, Rig, corpus,
    expected_dest_name, expected_from_source, expected_messages, migrate, project, src_snapshot)

# Destination special-use folders named differently from the source's "Sent".
DST_SPECIAL = {'Sent Messages': r'\Sent', 'Drafts': r'\Drafts', 'Trash': r'\Trash',
               'Junk': r'\Junk', 'Archive': r'\Archive'}


def local_message(tag, ts=1710000000):
    return corpus.make_message('Local %s' % tag, 'Delivered locally (%s).\n' % tag,
                               msgid='local-%s@dest.example' % tag, date=ts)


def by_box(msgs):
    out = {}
    for m in msgs:
        out.setdefault(m['mailbox'], []).append(m)
    return out


class SlashSourceTest(unittest.TestCase):
    """'/' source declaring special-use; destination "Sent Messages" is its \\Sent folder."""

    maxDiff = None

    def setUp(self):
        self.rig = Rig(name='mig-basic', dst_special_use=DST_SPECIAL)
        self.rig.__enter__()
        self.addCleanup(self.rig.__exit__, None, None, None)

    def fail_with_logs(self, msg, run=None):
        self.fail('%s\n%s\n%s' % (msg, run.describe() if run else '', self.rig.logs_tail(60)))

    def check_run(self, run, result='ok'):
        if run.rc != 0 or run.row.get('result') != result:
            self.fail_with_logs('migrate did not end %s' % result, run)

    def test_migration_dry_run_rerun_delta_and_source_untouched(self):
        r = self.rig
        c = corpus.edge_corpus('small')
        r.add_source_user('alice', 'alicepw')
        r.load_source('alice', c)
        # UID gaps at the source (expunged mail), so that "same UIDs as the source" is not
        # just "UIDs 1..n".
        for q in (('mailbox', 'INBOX', 'header', 'Message-ID', 'noflags@corpus'),
                  ('mailbox', 'INBOX', 'header', 'Message-ID', 'plain@corpus'),
                  ('mailbox', 'Archive/2023', 'uid', '2')):
            r.doveadm('expunge', '-u', 'alice', *q, conf='src', check=True)
        r.add_dest_user('alice', 'alice-local-pw')
        # Local mail already in a destination folder the source also has ("Archive" is the
        # destination's \Archive folder): it must stay, and the folder keeps its UIDVALIDITY.
        r.doveadm('mailbox', 'create', '-u', 'alice', 'Archive', check=True)
        r.doveadm('save', '-u', 'alice', '-m', 'Archive', input=local_message('archive'),
                  text=False, check=True)
        archive_before = {b['name']: b for b in r.mailboxes('dst', 'alice')}['Archive']
        local_before = r.messages('dst', 'alice')
        self.assertEqual(len(local_before), 1)

        s0 = src_snapshot(r, 'alice')
        src_msgs = r.messages('src', 'alice')
        self.assertEqual(len(src_msgs), c.total_messages - 3)
        src_boxes = {b['name']: b for b in r.mailboxes('src', 'alice')}

        # ---- dry run: the plan, nothing created, nothing copied
        dst_boxes_before = r.mailboxes('dst', 'alice')
        dry = migrate(r, 'alice', '--dry-run', password='alicepw')
        if dry.rc != 0:
            self.fail_with_logs('dry run failed', dry)
        row = dry.row
        for k in REPORT_KEYS + DRY_RUN_KEYS:
            self.assertIn(k, row, dry.describe())
        self.assertEqual(row['result'], 'ok')
        self.assertEqual(int(row['copied']), 0)
        self.assertEqual(int(row['source_messages']), len(src_msgs))
        # every source message is pending (the local message in Archive is not one of them)
        self.assertEqual(int(row['pending']), len(src_msgs), dry.describe())
        self.assertEqual(int(row['source_bytes']), sum(m['vsize'] for m in src_msgs),
                         dry.describe())
        q = r.quota('alice')['STORAGE']
        free = int(row['quota_free'])
        # quota_free is in bytes; doveadm quota reports KiB.
        self.assertLessEqual(abs(free - (q['limit'] - q['value']) * 1024), 1024, dry.describe())
        self.assertEqual(r.mailboxes('dst', 'alice'), dst_boxes_before)
        self.assertEqual(r.messages('dst', 'alice'), local_before)

        # ---- the migration
        run = migrate(r, 'alice', password='alicepw')
        self.check_run(run)
        self.assertEqual(int(run.row['copied']), len(src_msgs), run.describe())
        self.assertEqual(int(run.row['failed']), 0)
        self.assertEqual(int(run.row['bytes']), sum(m['vsize'] for m in src_msgs),
                         run.describe())
        self.assertEqual(run.row['username'], 'alice')
        self.assertEqual(run.row['error'], '')

        dst_msgs = r.messages('dst', 'alice')
        migrated = [m for m in dst_msgs if not m['message_id'].startswith('<local-')]
        # exact bytes, flags (all system flags and keywords), INTERNALDATE, right folder
        self.assertEqual(project(migrated, CONTENT_KEYS), expected_from_source(r, src_msgs, c))
        # ... which is the corpus minus what was expunged
        gone = {'<noflags@corpus>', '<plain@corpus>', '<archive-2023-1@corpus>'}
        self.assertEqual(
            project(migrated, CONTENT_KEYS),
            sorted(e for e in expected_messages(r, c) if e[1] not in gone))
        all_flags = set(f for m in migrated for f in m['flags'])
        for fl in corpus.SYSTEM_FLAGS + ('$Forwarded', '$Junk', 'project-x', '$label1', 'Work',
                                         '$MDNSent'):
            self.assertIn(fl, all_flags)
        # the local message is untouched (same UID, GUID, flags, bytes)
        self.assertIn(local_before[0], dst_msgs)

        dst_boxes = {b['name']: b for b in r.mailboxes('dst', 'alice')}
        # folder mapping
        for f in c.folders:
            name = expected_dest_name(r, f.name)
            self.assertIn(name, dst_boxes, 'folder %r missing' % (f.name,))
            self.assertTrue(dst_boxes[name]['selectable'], dst_boxes[name])
            self.assertEqual(dst_boxes[name]['subscribed'], f.subscribed, dst_boxes[name])
        for name in ('Ünïcödé', 'Ünïcödé/Sub', '日本語', 'Entwürfe', 'A&B Co', 'R&D/Q&A',
                     'Folder with spaces', 'Deep/L2/L3/L4/L5', 'Empty', 'Projects/2024',
                     'Projects_2024', 'Sent Messages', 'Old Stuff'):
            self.assertIn(name, dst_boxes)
        self.assertEqual(dst_boxes['Empty']['messages'], 0)
        self.assertFalse(dst_boxes['Old Stuff']['subscribed'], 'unsubscribed folder subscribed')
        self.assertNotIn('Sent', dst_boxes, 'source \\Sent not merged into "Sent Messages"')
        self.assertNotIn('Projects.2024', dst_boxes)
        self.assertEqual(dst_boxes['Sent Messages']['special_use'], r'\Sent')
        self.assertEqual(dst_boxes['Drafts']['special_use'], r'\Drafts')
        self.assertEqual(dst_boxes['Trash']['special_use'], r'\Trash')
        self.assertEqual(dst_boxes['Junk']['special_use'], r'\Junk')
        # Projects.2024 and Projects/2024 stay apart
        bb = by_box(migrated)
        self.assertEqual(sorted(m['message_id'] for m in bb['Projects_2024']),
                         ['<projects-dot-2024-0@corpus>', '<projects-dot-2024-1@corpus>'])
        self.assertEqual(sorted(m['message_id'] for m in bb['Projects/2024']),
                         ['<projects-2024-child-0@corpus>', '<projects-2024-child-1@corpus>'])
        self.assertEqual(len(bb['Sent Messages']), 3)

        # New destination folders have the source's UIDVALIDITY and UIDs; Archive (which had
        # local mail) keeps its own UIDVALIDITY.
        src_by_box = by_box(src_msgs)
        for f in c.folders:
            sname = r.src_vname(f.name)
            dname = expected_dest_name(r, f.name)
            if dname == 'Archive':
                continue
            self.assertEqual(dst_boxes[dname]['uidvalidity'], src_boxes[sname]['uidvalidity'],
                             'UIDVALIDITY of %s' % dname)
            self.assertEqual([(m['uid'], m['sha256']) for m in bb.get(dname, [])],
                             [(m['uid'], m['sha256']) for m in src_by_box.get(sname, [])],
                             'UIDs of %s' % dname)
        self.assertEqual(dst_boxes['Archive']['uidvalidity'], archive_before['uidvalidity'])
        self.assertEqual(sorted(m['message_id'] for m in dst_msgs if m['mailbox'] == 'Archive'),
                         ['<archive-0@corpus>', '<local-archive@dest.example>'])
        # INBOX had UID gaps at the source: kept
        self.assertNotEqual([m['uid'] for m in bb['INBOX']],
                            list(range(1, len(bb['INBOX']) + 1)))

        # the source is unchanged (flags incl. \Seen, UIDNEXT, HIGHESTMODSEQ, everything)
        self.assertEqual(src_snapshot(r, 'alice'), s0)

        # ---- second run: nothing to copy, nothing changes
        run2 = migrate(r, 'alice', password='alicepw')
        self.check_run(run2)
        self.assertEqual(int(run2.row['copied']), 0, run2.describe())
        self.assertEqual(int(run2.row['failed']), 0)
        self.assertEqual(r.messages('dst', 'alice'), dst_msgs)
        self.assertEqual(src_snapshot(r, 'alice'), s0)

        # ---- mail arriving locally (the destination's own IMAP) and changes at the source
        with r.imap_login(r.dst_imap_port, 'alice', 'alice-local-pw') as imap:
            typ, _ = imap.append('INBOX', r'(\Flagged $Local)',
                                 imaplib.Time2Internaldate(1710000500),
                                 local_message('imap', 1710000500))
            self.assertEqual(typ, 'OK')
        local_imap = [m for m in r.messages('dst', 'alice')
                      if m['message_id'] == '<local-imap@dest.example>']
        self.assertEqual(len(local_imap), 1)

        def src_uid(box, msgid):
            for m in src_msgs:
                if m['mailbox'] == box and m['message_id'] == '<%s>' % msgid:
                    return str(m['uid'])
            raise KeyError(msgid)
        changes = [
            ('add', r'\Seen', 'INBOX', 'flag-flagged@corpus'),       # \Seen added
            ('remove', 'project-x', 'INBOX', 'keywords@corpus'),     # keyword removed
            ('add', 'NewKeyword', 'Sent', 'sent-0@corpus'),          # keyword added
            ('remove', r'\Seen', 'Archive/2023', 'archive-2023-0@corpus'),   # \Seen removed
        ]
        for op, flag, box, msgid in changes:
            r.doveadm('flags', op, '-u', 'alice', flag, 'mailbox', box, 'uid',
                      src_uid(box, msgid), conf='src', check=True)
        new = corpus.Corpus('delta', [
            corpus.Folder(('INBOX',), corpus.simple_messages(4, 'delta-inbox')),
            corpus.Folder(('Ünïcödé', 'Sub'), corpus.simple_messages(2, 'delta-sub')),
            corpus.Folder(('Sent',), corpus.simple_messages(1, 'delta-sent')),
        ])
        r.load_source('alice', new)
        s1 = src_snapshot(r, 'alice')
        src_msgs1 = r.messages('src', 'alice')
        self.assertEqual(len(src_msgs1), len(src_msgs) + 7)

        run3 = migrate(r, 'alice', password='alicepw')
        self.check_run(run3)
        self.assertEqual(int(run3.row['copied']), 7, run3.describe())
        self.assertEqual(int(run3.row['failed']), 0)
        dst_msgs3 = r.messages('dst', 'alice')
        migrated3 = [m for m in dst_msgs3 if not m['message_id'].startswith('<local-')]
        # every message incl. the flag changes
        self.assertEqual(project(migrated3, CONTENT_KEYS), expected_from_source(r, src_msgs1, c))
        got = {(m['mailbox'], m['message_id']): m['flags'] for m in migrated3}
        self.assertIn(r'\Seen', got[('INBOX', '<flag-flagged@corpus>')])
        self.assertNotIn('project-x', got[('INBOX', '<keywords@corpus>')])
        self.assertIn('Work', got[('INBOX', '<keywords@corpus>')])
        self.assertIn('NewKeyword', got[('Sent Messages', '<sent-0@corpus>')])
        self.assertNotIn(r'\Seen', got[('Archive/2023', '<archive-2023-0@corpus>')])
        # local mail untouched (UID, GUID, flags, bytes)
        self.assertIn(local_before[0], dst_msgs3)
        self.assertIn(local_imap[0], dst_msgs3)
        self.assertEqual(local_imap[0]['flags'], ('$Local', r'\Flagged'))
        # new source messages keep their source UIDs in folders created by the migration
        bb3 = by_box(migrated3)
        src_by_box1 = by_box(src_msgs1)
        for sname, dname in (('Ünïcödé/Sub', 'Ünïcödé/Sub'), ('Sent', 'Sent Messages')):
            self.assertEqual([(m['uid'], m['sha256']) for m in bb3[dname]],
                             [(m['uid'], m['sha256']) for m in src_by_box1[sname]], dname)
        # the source still unchanged by the delta run
        self.assertEqual(src_snapshot(r, 'alice'), s1)

        # ---- and once more: nothing
        run4 = migrate(r, 'alice', password='alicepw')
        self.check_run(run4)
        self.assertEqual(int(run4.row['copied']), 0, run4.describe())
        self.assertEqual(r.messages('dst', 'alice'), dst_msgs3)
        self.assertEqual(r.log_errors('src'), [])


class DotSourceByNameTest(unittest.TestCase):
    """Courier/Cyrus style source: '.' separator, "INBOX." prefix, no special-use declared
    (Outlook names "Sent Items", "Deleted Items", "Junk E-mail"). -f json report."""

    maxDiff = None

    def test_dot_source_without_special_use(self):
        c = corpus.edge_corpus('small', sep='.', special_use=False)
        with Rig(name='mig-dot', src_sep='.', src_special_use=False) as r:
            r.add_source_user('bob', 'bobpw')
            r.load_source('bob', c)
            r.add_dest_user('bob')
            s0 = src_snapshot(r, 'bob')
            src_msgs = r.messages('src', 'bob')
            run = migrate(r, 'bob', password='bobpw', fmt='json')
            if run.rc != 0:
                self.fail('%s\n%s' % (run.describe(), r.logs_tail()))
            rows = json.loads(run.out)
            self.assertIsInstance(rows, list)
            self.assertEqual(len(rows), 1, run.out)
            row = rows[0]
            self.assertEqual(sorted(row), sorted(REPORT_KEYS), run.out)
            self.assertEqual(row['username'], 'bob')
            self.assertEqual(row['result'], 'ok')
            self.assertEqual(int(row['copied']), c.total_messages)
            self.assertEqual(int(row['failed']), 0)
            self.assertEqual(row['error'], '')

            dst_msgs = r.messages('dst', 'bob')
            self.assertEqual(project(dst_msgs, CONTENT_KEYS), expected_messages(r, c))
            boxes = {b['name']: b for b in r.mailboxes('dst', 'bob')}
            # no "INBOX." prefix, '/' separator
            self.assertIn('Ünïcödé/Sub', boxes)
            self.assertIn('Deep/L2/L3/L4/L5', boxes)
            self.assertIn('R&D/Q&A', boxes)
            self.assertFalse([n for n in boxes if n.startswith('INBOX')
                              and n != 'INBOX'], sorted(boxes))
            # Outlook names into the destination's special-use folders
            for gone in ('Sent Items', 'Deleted Items', 'Junk E-mail'):
                self.assertNotIn(gone, boxes)
            for name, flag, msgids in (
                    ('Sent', r'\Sent', ['<sent-0@corpus>', '<sent-1@corpus>', '<sent-2@corpus>']),
                    ('Trash', r'\Trash', ['<trash-0@corpus>', '<trash-1@corpus>']),
                    ('Junk', r'\Junk', ['<junk-0@corpus>', '<junk-1@corpus>'])):
                self.assertEqual(boxes[name]['special_use'], flag)
                self.assertEqual(sorted(m['message_id'] for m in dst_msgs
                                        if m['mailbox'] == name), msgids)
            self.assertTrue(boxes['Empty']['selectable'])
            self.assertEqual(boxes['Empty']['messages'], 0)
            self.assertFalse(boxes['Old Stuff']['subscribed'])
            self.assertTrue(boxes['Folder with spaces']['subscribed'])
            self.assertEqual(src_snapshot(r, 'bob'), s0)

            again = migrate(r, 'bob', password='bobpw', fmt='json')
            self.assertEqual(again.rc, 0, again.describe())
            self.assertEqual(again.row['copied'], 0, again.out)
            self.assertEqual(r.messages('dst', 'bob'), dst_msgs)
            self.assertEqual(src_snapshot(r, 'bob'), s0)
            self.assertEqual(sorted(m['sha256'] for m in src_msgs),
                             sorted(m['sha256'] for m in dst_msgs))

            # flag changes at the source reach messages in merged / renamed folders too
            # ("INBOX.Entwürfe" went into "Drafts" next to "INBOX.Drafts", whose UIDs it could
            # not keep; "INBOX.Sent Items" is "Sent")
            for op, flag, box in (('add', r'\Flagged', 'INBOX.Entwürfe'),
                                  ('remove', r'\Draft', 'INBOX.Entwürfe'),
                                  ('remove', r'\Seen', 'INBOX.Sent Items'),
                                  ('add', 'Later', 'INBOX.Deleted Items')):
                r.doveadm('flags', op, '-u', 'bob', flag, 'mailbox', box, 'uid', '1',
                          conf='src', check=True)
            src_msgs2 = r.messages('src', 'bob')
            run3 = migrate(r, 'bob', password='bobpw')
            self.assertEqual(run3.rc, 0, run3.describe())
            self.assertEqual(int(run3.row['copied']), 0, run3.describe())
            dst3 = r.messages('dst', 'bob')
            self.assertEqual(project(dst3, CONTENT_KEYS), expected_from_source(r, src_msgs2))
            got = {m['message_id']: m['flags'] for m in dst3}
            self.assertEqual(got['<entwuerfe-0@corpus>'], (r'\Flagged',))
            self.assertNotIn(r'\Seen', got['<sent-0@corpus>'])
            self.assertIn('Later', got['<trash-0@corpus>'])


class MasterUserTest(unittest.TestCase):
    """--source-master-user: AUTHENTICATE PLAIN as a master user on behalf of the user."""

    def test_master_user_login(self):
        d = tempfile.mkdtemp(prefix='migrate-master-')
        self.addCleanup(shutil.rmtree, d, True)
        os.chmod(d, 0o755)
        master = os.path.join(d, 'master-users')
        with open(master, 'w') as f:
            f.write('migadmin:{PLAIN}Master-Pw-5521\n')
        os.chmod(master, 0o644)
        conf = Rig.passwd_file_conf('master-users', master, 'passdb', master=True)
        c = corpus.simple_corpus(4, folders=(('INBOX',), ('Sent',)), tag='master')
        with Rig(name='mig-master', src_extra_conf=conf) as r:
            r.add_source_user('dave', 'dave-own-pw')
            r.load_source('dave', c)
            r.add_dest_user('dave')
            run = migrate(r, 'dave', '--source-master-user', 'migadmin',
                          password='Master-Pw-5521', source_user='dave')
            self.assertEqual(run.rc, 0, run.describe() + r.logs_tail())
            self.assertEqual(int(run.row['copied']), 8, run.describe())
            self.assertEqual(project(r.messages('dst', 'dave'), CONTENT_KEYS),
                             expected_messages(r, c))
            # the source saw a master login for dave
            self.assertIn('Master user logging in as dave', r.src.log_when('logging in as dave'))


class UserFileTest(unittest.TestCase):
    """-F: one report row per user; one user's failure does not stop the others."""

    def test_user_file_rows_and_exit_code(self):
        c1 = corpus.simple_corpus(3, tag='uf1')
        c2 = corpus.simple_corpus(2, tag='uf2')
        c3 = corpus.simple_corpus(4, tag='uf3')
        with Rig(name='mig-userfile') as r:
            for name, pw, c in (('ursula', 'ursula-pw', c1), ('victor', 'victor-pw', c2),
                                ('wendy', 'wendy-pw', c3)):
                r.add_source_user(name, pw)
                r.load_source(name, c)
                r.add_dest_user(name, extra={
                    'migrate_source_host': '127.0.0.1',
                    'migrate_source_port': str(r.src_imap_port),
                    'migrate_source_tls': 'none',
                    # victor's stored password is wrong
                    'migrate_source_password': pw if name != 'victor' else 'stale-pw'})
            users = os.path.join(r.dir, 'users.txt')
            with open(users, 'w') as f:
                f.write('ursula\nvictor\nwendy\n')
            argv = r.doveadm_argv('-f', 'tab', 'migrate', '-F', users)
            p = subprocess.run(argv, capture_output=True, text=True, timeout=300)
            run = MigrateRun(argv, p.returncode, p.stdout, p.stderr, 0, 'tab')
            rows = {row['username']: row for row in run.rows}
            self.assertEqual(sorted(rows), ['ursula', 'victor', 'wendy'], run.describe())
            self.assertEqual(rows['ursula']['result'], 'ok')
            self.assertEqual(rows['wendy']['result'], 'ok')
            self.assertEqual(rows['victor']['result'], 'failed')
            self.assertIn("login as 'victor' failed", rows['victor']['error'])
            self.assertEqual(run.rc, EX_NOPERM, run.describe())
            self.assertEqual(project(r.messages('dst', 'ursula'), CONTENT_KEYS),
                             expected_messages(r, c1))
            self.assertEqual(project(r.messages('dst', 'wendy'), CONTENT_KEYS),
                             expected_messages(r, c3))
            self.assertEqual(r.messages('dst', 'victor'), [])


class HttpApiTest(unittest.TestCase):
    """The doveadm HTTP API runs `migrate` with every source setting from userdb fields."""

    def test_http_api_with_userdb_settings(self):
        c = corpus.simple_corpus(5, folders=(('INBOX',), ('Work',)), tag='http')
        with Rig(name='mig-http') as r:
            r.add_source_user('carol-old', 'carol-src-pw')
            r.load_source('carol-old', c)
            r.add_dest_user('carol', extra={
                'migrate_source_host': '127.0.0.1',
                'migrate_source_port': str(r.src_imap_port),
                'migrate_source_tls': 'starttls',
                'migrate_ca_file': r.ca_file,
                'migrate_source_user': 'carol-old',
                'migrate_source_password': 'carol-src-pw'})
            resp = r.http_api([['migrate', {'user': 'carol'}, 'm1']])
            self.assertEqual(len(resp), 1, resp)
            kind, rows, tag = resp[0]
            self.assertEqual((kind, tag), ('doveadmResponse', 'm1'), resp)
            self.assertEqual(len(rows), 1, resp)
            row = rows[0]
            for k in REPORT_KEYS:
                self.assertIn(k, row, resp)
            self.assertEqual(row['username'], 'carol')
            self.assertEqual(row['result'], 'ok', resp)
            self.assertEqual(int(row['copied']), 10, resp)
            self.assertEqual(project(r.messages('dst', 'carol'), CONTENT_KEYS),
                             expected_messages(r, c))
            # the report must not carry the password either
            self.assertNotIn('carol-src-pw', json.dumps(resp))
            # and again: nothing to copy
            resp = r.http_api([['migrate', {'user': 'carol'}, 'm2']])
            self.assertEqual(resp[0][0], 'doveadmResponse', resp)
            self.assertEqual(int(resp[0][1][0]['copied']), 0, resp)


if __name__ == '__main__':
    unittest.main()
