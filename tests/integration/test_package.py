"""The .deb an admin installs (`cpack` in the build dir): it holds the modules where this Dovecot
loads them from (on 2.4 the settings module too), depends on the module ABI that this release's
dovecot-core provides, so that apt accepts it here and refuses a Dovecot with another ABI, and
its packaged modules are the ones the build made."""

import glob
import os
import shutil
import subprocess
import tempfile
import unittest

from rig import V24  # noqa: E402

BUILD = os.environ.get('MIGRATE_BUILD_DIR', '/work/main/build')


def dovecot_config():
    out = {}
    with open('/usr/lib/dovecot/dovecot-config') as f:
        for line in f:
            key, sep, value = line.strip().partition('=')
            if sep:
                out[key] = value.strip('\'"')
    return out


def field(deb, name):
    return subprocess.run(['dpkg-deb', '-f', deb, name], capture_output=True, text=True,
                          check=True).stdout.strip()


class PackageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix='migrate-package-')
        r = subprocess.run(['cpack', '--config', os.path.join(BUILD, 'CPackConfig.cmake'),
                            '-B', cls.tmp], capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            raise AssertionError('cpack failed:\n%s%s' % (r.stdout, r.stderr))
        debs = glob.glob(os.path.join(cls.tmp, '*.deb'))
        if len(debs) != 1:
            raise AssertionError('cpack made %r' % debs)
        cls.deb = debs[0]

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_depends_on_the_abi_this_dovecot_core_provides(self):
        provides = subprocess.run(['dpkg-query', '-W', '-f', '${Provides}', 'dovecot-core'],
                                  capture_output=True, text=True, check=True).stdout
        abi = [p.strip() for p in provides.split(',') if p.strip().startswith('dovecot-abi-')]
        self.assertEqual(len(abi), 1, provides)
        depends = [d.strip() for d in field(self.deb, 'Depends').split(',')]
        self.assertIn(abi[0], depends)
        # The Sieve module links libdovecot-sieve, yet the package works without it (doveadm
        # skips that module): dovecot-sieve is suggested, not required.
        self.assertFalse([d for d in depends if d.startswith('dovecot-sieve')], depends)
        self.assertIn('dovecot-sieve', field(self.deb, 'Suggests'))
        # apt would install it here (every dependency is satisfiable) ...
        r = subprocess.run(['apt-get', 'install', '-s', '--no-install-recommends', self.deb],
                           capture_output=True, text=True, timeout=300,
                           env=dict(os.environ, DEBIAN_FRONTEND='noninteractive'))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r'(?m)^Inst dovecot-migrate ')
        # ... and the codename in the version names the release it was built for.
        codename = subprocess.run(['sh', '-c', '. /etc/os-release && echo $VERSION_CODENAME'],
                                  capture_output=True, text=True).stdout.strip()
        self.assertTrue(field(self.deb, 'Version').endswith('~' + codename))

    def test_modules_go_where_dovecot_loads_them(self):
        moduledir = dovecot_config()['dovecot_moduledir']
        files = subprocess.run(['dpkg-deb', '-c', self.deb], capture_output=True, text=True,
                               check=True).stdout
        paths = {line.split()[-1].lstrip('.') for line in files.splitlines()}
        wanted = {moduledir + '/lib95_migrate_plugin.so',
                  moduledir + '/doveadm/lib95_doveadm_migrate_plugin.so',
                  moduledir + '/doveadm/lib96_doveadm_migrate_sieve_plugin.so',
                  '/usr/share/man/man1/doveadm-migrate.1',
                  '/usr/share/doc/dovecot-migrate/90-migrate.conf'}
        if V24:
            wanted.add(moduledir + '/settings/libmigrate_settings.so')
        self.assertEqual(wanted - paths, set(), files)

    def test_the_schedule_timer_is_shipped_but_not_enabled(self):
        unitdir = subprocess.run(['pkg-config', '--variable=systemdsystemunitdir', 'systemd'],
                                 capture_output=True, text=True).stdout.strip() or '/lib/systemd/system'
        files = subprocess.run(['dpkg-deb', '-c', self.deb], capture_output=True, text=True,
                               check=True).stdout
        paths = {line.split()[-1].lstrip('.') for line in files.splitlines()}
        for unit in ('dovecot-migrate-schedule.service', 'dovecot-migrate-schedule.timer'):
            self.assertIn(unitdir + '/' + unit, paths)
        # enabling it is the admin's choice: no wants link, no maintainer script doing it
        self.assertFalse([p for p in paths if p.startswith('/etc/systemd')], paths)
        extract = os.path.join(self.tmp, 'units')
        subprocess.run(['dpkg-deb', '-x', self.deb, extract], check=True)
        with open(os.path.join(extract, unitdir.lstrip('/'), 'dovecot-migrate-schedule.service')) as f:
            self.assertIn('ExecStart=/usr/bin/doveadm migrate schedule-due -A', f.read())
        with open(os.path.join(extract, unitdir.lstrip('/'), 'dovecot-migrate-schedule.timer')) as f:
            self.assertIn('OnCalendar=minutely', f.read())

    def test_the_sample_is_for_this_dovecot(self):
        extract = os.path.join(self.tmp, 'x')
        subprocess.run(['dpkg-deb', '-x', self.deb, extract], check=True)
        with open(os.path.join(extract, 'usr/share/doc/dovecot-migrate/90-migrate.conf')) as f:
            text = f.read()
        self.assertIn('Dovecot 2.4' if V24 else 'Dovecot 2.3', text.splitlines()[1])


if __name__ == '__main__':
    unittest.main()
