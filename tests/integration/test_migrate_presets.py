"""Presets against real Dovecot: --preset office365 maps Exchange's folder names onto the local
special-use folders and leaves its calendar/contacts folders out; an admin preset defined in
dovecot.conf (2.3: plugin { migrate_preset_<name>_* }; 2.4: migrate_preset_def <name> { }) gives host, port, TLS
mode, exclusions, a folder mapping and a size cap, and a later run with --preset generic takes
what the preset left out, once. (Gmail's labels need a Gmail server: the unit tests cover them
with the scripted fake.)"""

import hashlib
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from migrate_helpers import (  # noqa: E402
    CONTENT_KEYS, EX_CONFIG, LOCALHOST, Rig, corpus, crlf, duplicates, migrate, project,
    vsize_of)
from rig import V24, preset_conf, settings_conf  # noqa: E402


def msgs(tag, n=2):
    return corpus.simple_messages(n, tag)


def expected(c, where):
    """project() tuples for the corpus messages, with each folder mapped by `where`
    (a dict {source name tuple: destination name}; folders not in it are left out)."""
    out = []
    for f in c.folders:
        if f.name not in where:
            continue
        for m in f.messages:
            d = {'mailbox': where[f.name], 'message_id': m.message_id, 'flags': m.flags,
                 'date_received': m.internaldate, 'vsize': vsize_of(m.data),
                 'sha256': hashlib.sha256(crlf(m.data)).hexdigest()}
            out.append(tuple(d[k] for k in CONTENT_KEYS))
    return sorted(out)


class PresetsTest(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        # A source without special-use attributes, as many old servers are.
        self.rig = Rig(name='mig-presets', src_special_use=False)
        self.rig.__enter__()
        self.addCleanup(self.rig.__exit__, None, None, None)

    def dest(self, user):
        return project(self.rig.messages('dst', user), CONTENT_KEYS)

    def test_office365_folder_names_and_non_mail_folders(self):
        r = self.rig
        c = corpus.Corpus('o365', [
            corpus.Folder(('INBOX',), msgs('o-in')),
            corpus.Folder(('Sent Items',), msgs('o-sent')),
            corpus.Folder(('Deleted Items',), msgs('o-del', 1)),
            corpus.Folder(('Junk Email',), msgs('o-junk', 1)),
            corpus.Folder(('Calendar',), msgs('o-cal', 1)),
            corpus.Folder(('Calendar', 'Birthdays'), msgs('o-bday', 1)),
            corpus.Folder(('Contacts',), msgs('o-contacts', 1)),
            corpus.Folder(('Sync Issues',), msgs('o-sync', 1)),
            corpus.Folder(('Projects',), msgs('o-proj')),
        ])
        r.add_source_user('olga', 'olga-pw')
        r.load_source('olga', c)
        r.add_dest_user('olga')
        run = migrate(r, 'olga', '--preset', 'office365', password='olga-pw')
        self.assertEqual(run.rc, 0, run.describe() + r.logs_tail())
        where = {('INBOX',): 'INBOX', ('Sent Items',): 'Sent', ('Deleted Items',): 'Trash',
                 ('Junk Email',): 'Junk', ('Projects',): 'Projects'}
        self.assertEqual(self.dest('olga'), expected(c, where))
        self.assertEqual(int(run.row['copied']), 8)
        boxes = {b['name'] for b in r.mailboxes('dst', 'olga')}
        for gone in ('Calendar', 'Calendar/Birthdays', 'Contacts', 'Sync Issues', 'Sent Items'):
            self.assertNotIn(gone, boxes)

        # Again: nothing new.
        run = migrate(r, 'olga', '-p', 'office365', password='olga-pw')
        self.assertEqual(run.rc, 0, run.describe())
        self.assertEqual(int(run.row['copied']), 0)

    def test_admin_preset_from_dovecot_conf_then_generic(self):
        r = self.rig
        big = corpus.Message(corpus.make_message('huge', ('y' * 76 + '\n') * 1500,
                                                 msgid='huge@corpus.migrate.test',
                                                 date=1650000000), (), 1650000000)
        c = corpus.Corpus('admin', [
            corpus.Folder(('INBOX',), msgs('a-in') + [big]),
            corpus.Folder(('Versendet',), msgs('a-sent')),
            corpus.Folder(('Spam-Alt',), msgs('a-spam', 1)),
            corpus.Folder(('Kunden',), msgs('a-kunden')),
        ])
        r.add_source_user('anna', 'anna-pw')
        r.load_source('anna', c)
        r.add_dest_user('anna')
        r.set_dest_extra_conf(settings_conf({'migrate_preset': 'oldisp'}) + preset_conf('oldisp', {
            'host': LOCALHOST, 'port': r.src_imap_port, 'tls': 'none', 'exclude': 'Spam*',
            'folder_map': 'Versendet=\\Sent', 'max_size': '50K'}))

        # No host, port or TLS mode on the command line: the preset gives them.
        run = migrate(r, 'anna', password='anna-pw', host=None, tls=None, source_user='anna')
        self.assertEqual(run.rc, 0, run.describe() + r.logs_tail())
        first = expected(c, {('INBOX',): 'INBOX', ('Versendet',): 'Sent', ('Kunden',): 'Kunden'})
        mid = CONTENT_KEYS.index('message_id')
        first = [m for m in first if m[mid] != '<huge@corpus.migrate.test>']
        self.assertEqual(self.dest('anna'), first)
        self.assertNotIn('Spam-Alt', {b['name'] for b in r.mailboxes('dst', 'anna')})

        # --preset generic over the configured one: the excluded folder and the large message
        # come now, nothing twice.
        run = migrate(r, 'anna', '--preset', 'generic', '--source-host', LOCALHOST,
                      '--source-port', str(r.src_imap_port), '--source-tls', 'none',
                      password='anna-pw', host=None, tls=None, source_user='anna')
        self.assertEqual(run.rc, 0, run.describe() + r.logs_tail())
        self.assertEqual(int(run.row['copied']), 2)
        everything = expected(c, {('INBOX',): 'INBOX', ('Versendet',): 'Sent',
                                  ('Spam-Alt',): 'Spam-Alt', ('Kunden',): 'Kunden'})
        msgs_now = r.messages('dst', 'anna')
        self.assertEqual(duplicates(msgs_now, everything), {})
        self.assertEqual(project(msgs_now, CONTENT_KEYS), everything)

    def test_bad_admin_preset_setting_is_a_config_error_naming_it(self):
        r = self.rig
        r.add_source_user('bert', 'bert-pw')
        r.add_dest_user('bert')
        conf = settings_conf({'migrate_preset': 'broken'}) + preset_conf('broken', {'max_size': 'huge'})
        if V24:
            # Dovecot 2.4 checks the value at startup (the settings module): the admin sees it
            # before any run, from doveconf and `dovecot reload` alike.
            r.set_dest_extra_conf(conf, reload=False)
            res = subprocess.run(r.doveconf_argv(), capture_output=True, text=True)
            self.assertNotEqual(res.returncode, 0, res.stdout[-2000:])
            self.assertIn('migrate_preset_def broken { max_size }', res.stderr)
            self.assertIn("'huge'", res.stderr)
            self.assertIn('30M', res.stderr)   # what a valid value looks like
            return
        r.set_dest_extra_conf(conf)
        run = migrate(r, 'bert', password='bert-pw')
        self.assertEqual(run.rc, EX_CONFIG, run.describe())
        self.assertIn('migrate_preset_broken_max_size', run.text)


if __name__ == '__main__':
    unittest.main()
