"""The conf.d sample an admin copies (conf.d/2.3/ or conf.d/2.4/, whichever this Dovecot is), with
every commented setting switched on, is accepted by doveconf: on 2.4 through the settings module,
which also refuses a wrong value at startup, naming the setting."""

import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'dovecot'))

from migrate_helpers import Rig  # noqa: E402
from rig import V24  # noqa: E402

SAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'conf.d',
                      '2.4' if V24 else '2.3', '90-migrate.conf')


# A commented-out setting, block opening or block end: "#key = value", "  #key = value",
# "#  key = value" (inside a commented block), "#passdb imap {", '#quota "User quota" {', "#}".
# Explanations are "# " and prose.
_SETTING_LINE = re.compile(
    r'^(\s*)#((?:\s\s+)?(?:[A-Za-z_][\w.]*\s*=.*|[A-Za-z_]\w*(?: [^{}=]+)? \{|\}))$')


def sample_switched_on():
    """The sample with every commented-out setting switched on."""
    with open(SAMPLE) as f:
        lines = f.read().splitlines()
    return '\n'.join(_SETTING_LINE.sub(r'\1\2', line) for line in lines) + '\n'



class ConfSampleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rig = Rig(name='conf-sample', source=False)
        cls.rig.__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.rig.__exit__(None, None, None)

    def doveconf(self, text, *args):
        self.rig.set_dest_extra_conf(text, reload=False)
        try:
            return subprocess.run(self.rig.doveconf_argv(*args), capture_output=True, text=True,
                                  timeout=60)
        finally:
            self.rig.set_dest_extra_conf('', reload=False)

    def test_every_sample_setting_is_accepted(self):
        text = sample_switched_on()
        self.assertIn('migrate_source_host = imap.old.example', text)
        r = self.doveconf(text, '-n')
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout
        self.assertRegex(out, r'(?m)^\s*migrate_source_host = imap\.old\.example$')
        self.assertRegex(out, r'(?m)^\s*migrate_on_login_max_failures = 3$')
        if V24:
            self.assertRegex(out, r'(?m)^migrate_preset_def oldisp \{$')
            self.assertRegex(out, r'(?m)^\s*host = imap\.oldisp\.example$')
        else:
            self.assertRegex(out, r'(?m)^\s*migrate_preset_oldisp_host = imap\.oldisp\.example$')

    @unittest.skipUnless(V24, 'Dovecot 2.3 has no settings module: the run reports bad values')
    def test_a_wrong_value_stops_doveconf_naming_the_setting(self):
        text = sample_switched_on().replace('migrate_max_size = 30M', 'migrate_max_size = huge')
        r = self.doveconf(text, '-n')
        self.assertNotEqual(r.returncode, 0, r.stdout[-2000:])
        self.assertIn('migrate_max_size', r.stderr)
        self.assertIn("'huge'", r.stderr)


if __name__ == '__main__':
    unittest.main()
