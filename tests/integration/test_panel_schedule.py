"""Scheduled migrations through the doveadm HTTP API (issue 14): migrateStart with `at` (a first
pass at a given time) and `secondPassAfter` (a delta pass hours after the first has ended), the
state "scheduled" with next_run in migrateStatus, migrateScheduleDue (what the packaged timer runs
every minute) given a later `now`: the first pass copies the mail, the delta pass exactly the mail
added since, the stored password is gone after the last pass. A backend restart during a
scheduled pass (Dovecot stopped, the run killed as a reboot kills it, Dovecot started again): the
next migrateScheduleDue restarts the pass and every message arrives exactly once."""

import calendar
import json
import os
import signal
import stat
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from migrate_helpers import (  # noqa: E402
    CONTENT_KEYS, Rig, api_params, corpus, duplicates, expected_from_source, expected_messages,
    project, read_status, wait_for)

SRC_USER = 'schedsrc'
SRC_PW = 'sched"pw\\50%-ä'
PER_FOLDER = 100   # ~2 kB messages: 400 kB, ~20 s at 20K/s for the restart test
SLOW_RATE = '20K'
FOLDERS = (('INBOX',), ('Archive',))
SCHEDULE_KEYS = ('username', 'result', 'pass', 'next_run', 'pid', 'message')


def proc_state(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rpartition(')')[2].split()[0]
    except OSError:
        return None


def iso(t):
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(t))


def unix(iso_text):
    return calendar.timegm(time.strptime(iso_text, '%Y-%m-%dT%H:%M:%SZ'))


class PanelScheduleTest(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.rig = Rig(name='mig-sched')
        cls.rig.__enter__()
        cls.corpus = corpus.simple_corpus(PER_FOLDER, folders=FOLDERS, tag='sched', size=2000)
        cls.rig.add_source_user(SRC_USER, SRC_PW)
        cls.rig.load_source(SRC_USER, cls.corpus)
        for u in ('twopass', 'reboot', 'bounce', 'idle', 'held', 'between', 'lost', 'stopped'):
            cls.rig.add_dest_user(u)

    @classmethod
    def tearDownClass(cls):
        cls.rig.__exit__(None, None, None)

    def params(self, user, **extra):
        return api_params(self.rig, user, SRC_USER, sourcePassword=SRC_PW, **extra)

    def call_rows(self, command, params, tag='t'):
        resp = self.rig.http_api([[command, params, tag]])
        if os.environ.get('MIGRATE_API_EXAMPLES'):   # request/response pairs for the docs
            with open(os.environ['MIGRATE_API_EXAMPLES'], 'a') as f:
                f.write(json.dumps([[command, params, tag]], ensure_ascii=False) + '\n' +
                        json.dumps(resp, ensure_ascii=False) + '\n\n')
        self.assertEqual(len(resp), 1, resp)
        self.assertEqual(resp[0][0], 'doveadmResponse', resp)
        self.assertNotIn(SRC_PW, repr(resp))
        return resp[0][1]

    def call(self, command, params, tag='t'):
        rows = self.call_rows(command, params, tag)
        self.assertEqual(len(rows), 1, rows)
        return rows[0]

    def due(self, user, now):
        row = self.call('migrateScheduleDue', {'user': user, 'now': iso(now)})
        self.assertEqual(sorted(row), sorted(SCHEDULE_KEYS), row)
        return row

    def status(self, user):
        return self.call('migrateStatus', {'user': user})

    def wait_state(self, user, states, timeout=180):
        row = wait_for(lambda: (lambda r: r if r['state'] in states else None)(self.status(user)),
                       timeout=timeout, step=0.3)
        self.assertIsNotNone(row, '%s never reached %s: %s\n%s' % (
            user, states, self.status(user), self.rig.login_log(user)))
        return row

    def wait_pass_end(self, user):
        """The status once the first pass has ended: its final state, or "scheduled" with the
        first pass's end time when a schedule-due has seen it already."""
        def ended():
            r = self.status(user)
            done = r['state'] in ('ok', 'partial', 'failed') or (
                r['state'] == 'scheduled' and r['finished'])
            return r if done else None
        row = wait_for(ended, timeout=180, step=0.3)
        self.assertIsNotNone(row, 'the first pass of %s never ended: %s\n%s' % (
            user, self.status(user), self.rig.login_log(user)))
        return row

    def source_now(self):
        """What the destination must hold: the source as it is now (another test may have added
        mail)."""
        return expected_from_source(self.rig, self.rig.messages('src', SRC_USER), self.corpus)

    def assert_exactly(self, user, expected):
        msgs = self.rig.messages('dst', user)
        self.assertEqual(duplicates(msgs, expected), {})
        self.assertEqual(project(msgs, CONTENT_KEYS), sorted(expected))

    def test_first_pass_at_its_time_then_the_delta_pass(self):
        user = 'twopass'
        base = self.source_now()
        at = int(time.time()) + 3600
        row = self.call('migrateStart', self.params(user, at=iso(at), secondPassAfter='2'))
        self.assertEqual(row['result'], 'scheduled', row)
        st = self.status(user)
        self.assertEqual((st['state'], st['next_run']), ('scheduled', iso(at)), st)
        secret = self.rig.state_path(user, 'secret')
        self.assertEqual(stat.S_IMODE(os.stat(secret).st_mode), 0o600)
        self.assertTrue(os.path.exists(self.rig.state_path(user, 'schedule')))

        # before T: nothing starts
        row = self.due(user, at - 60)
        self.assertEqual((row['result'], row['pass'], row['next_run']), ('waiting', '1', iso(at)), row)
        self.assertEqual(self.rig.messages('dst', user), [])

        # T has come: the first pass runs in the background
        row = self.due(user, at + 60)
        self.assertEqual((row['result'], row['pass']), ('started', '1'), row)
        self.assertTrue(row['pid'].isdigit(), row)
        # a second schedule-due at once does not start it again
        again = self.due(user, at + 60)
        self.assertIn(again['result'], ('running', 'waiting'), again)
        self.assertEqual(again['pass'], '1' if again['result'] == 'running' else '2', again)
        first = self.wait_pass_end(user)
        # "scheduled" once a schedule-due saw the end (the `again` call above may have)
        self.assertIn(first['state'], ('ok', 'scheduled'), first)
        self.assertEqual((first['trigger'], int(first['copied'])), ('schedule', len(base)), first)
        self.assert_exactly(user, base)
        self.assertTrue(os.path.exists(secret), 'the password went before the second pass')

        # between the passes: the second is due 2 h after the first ENDED
        row = self.due(user, at + 120)
        self.assertEqual((row['result'], row['pass']), ('waiting', '2'), row)
        second_at = unix(row['next_run'])
        self.assertEqual(second_at, unix(first['finished']) + 2 * 3600, row)
        self.assertEqual(self.status(user)['next_run'], row['next_run'])

        # new mail at the source; the delta pass copies exactly that, once
        extra = corpus.simple_corpus(7, folders=FOLDERS, tag='sched-delta', size=1500)
        self.rig.load_source(SRC_USER, extra)
        self.assertEqual(self.due(user, second_at - 60)['result'], 'waiting')
        row = self.due(user, second_at + 60)
        self.assertEqual((row['result'], row['pass']), ('started', '2'), row)
        second = self.wait_state(user, ('ok', 'partial', 'failed'))
        self.assertEqual(second['state'], 'ok', second)
        self.assertEqual(int(second['copied']), 14, second)
        self.assertEqual(second['next_run'], '', second)
        self.assert_exactly(user, base + expected_messages(self.rig, extra))

        # the schedule ends: schedule file and stored password gone, no more rows
        row = self.due(user, second_at + 120)
        self.assertEqual((row['result'], row['pass']), ('done', '2'), row)
        self.assertFalse(os.path.exists(secret), 'the stored password outlived the schedule')
        self.assertFalse(os.path.exists(self.rig.state_path(user, 'schedule')))
        self.assertEqual(self.call_rows('migrateScheduleDue', {'user': user}), [])
        self.assertEqual(self.status(user)['state'], 'ok')
        self.assertNotIn(SRC_PW, self.rig.dst.log_text())

    def test_a_backend_restart_during_a_scheduled_pass(self):
        user = 'reboot'
        expected = self.source_now()
        at = int(time.time()) + 600
        row = self.call('migrateStart', self.params(user, at=iso(at), secondPassAfter='1.5',
                                                    maxRate=SLOW_RATE))
        self.assertEqual(row['result'], 'scheduled', row)
        row = self.due(user, at + 10)
        self.assertEqual((row['result'], row['pass']), ('started', '1'), row)
        running = wait_for(lambda: (lambda s: s if s and s.get('state') == 'running'
                                    and int(s.get('copied', 0)) > 5 else None)(read_status(self.rig, user)),
                           timeout=60, step=0.1)
        self.assertIsNotNone(running, read_status(self.rig, user))
        pid = int(running['pid'])

        # The backend goes down: Dovecot stops and the run dies with the machine (SIGKILL: no
        # chance to write a final status), then Dovecot comes back.
        pids = self.rig.dst.stop_begin()
        os.kill(pid, signal.SIGKILL)
        self.rig.dst.stop_wait(pids)
        self.assertTrue(wait_for(lambda: not os.path.exists('/proc/%d' % pid) or
                                 proc_state(pid) == 'Z', timeout=10))
        self.rig.dst.start(self.rig._bind_prefix())
        self.assertEqual(self.status(user)['state'], 'interrupted')
        copied_before = len(self.rig.messages('dst', user))
        self.assertLess(copied_before, len(expected))

        # the timer's next round restarts the pass; the rest arrives, nothing twice
        row = self.due(user, at + 70)
        self.assertEqual((row['result'], row['pass']), ('restarted', '1'), row)
        self.assertIn('without a result', row['message'])
        done = self.wait_state(user, ('ok', 'partial', 'failed'))
        self.assertEqual(done['state'], 'ok', done)
        self.assert_exactly(user, expected)

        # and the second pass still has its password
        row = self.due(user, at + 130)
        self.assertEqual((row['result'], row['pass']), ('waiting', '2'), row)
        row = self.due(user, unix(row['next_run']) + 1)
        self.assertEqual((row['result'], row['pass']), ('started', '2'), row)
        second_at = int(time.time())
        second = self.wait_state(user, ('ok', 'partial', 'failed'))
        self.assertEqual((second['state'], int(second['copied'])), ('ok', 0), second)
        self.assertEqual(self.due(user, second_at + 7200)['result'], 'done')
        self.assertFalse(os.path.exists(self.rig.state_path(user, 'secret')))
        self.assert_exactly(user, expected)

    def test_dovecot_restart_alone_during_a_scheduled_pass(self):
        """Dovecot (with its doveadm server) restarts, the machine does not: the run may go on
        or end; the next rounds of schedule-due finish the migration either way."""
        user = 'bounce'
        expected = self.source_now()
        at = int(time.time()) + 600
        self.call('migrateStart', self.params(user, at=iso(at), maxRate=SLOW_RATE))
        self.assertEqual(self.due(user, at + 10)['result'], 'started')
        self.assertIsNotNone(wait_for(lambda: (lambda s: s and s.get('state') == 'running' and
                                               int(s.get('copied', 0)) > 5)(read_status(self.rig, user)),
                                      timeout=60, step=0.1))
        self.rig.dst.stop_wait(self.rig.dst.stop_begin())
        self.rig.dst.start(self.rig._bind_prefix())
        rounds = []
        for _ in range(120):   # the timer's rounds, 1 s apart instead of a minute
            rounds.append(self.due(user, at + 70))
            if rounds[-1]['result'] == 'done':
                break
            time.sleep(1)
        self.assertEqual(rounds[-1]['result'], 'done', rounds[-5:])
        self.assertEqual(self.status(user)['state'], 'ok')
        self.assert_exactly(user, expected)
        self.assertFalse(os.path.exists(self.rig.state_path(user, 'secret')))

    def test_paused_schedule_is_skipped_until_resumed(self):
        user = 'held'
        expected = self.source_now()
        at = int(time.time()) + 3600
        self.assertEqual(self.call('migrateStart', self.params(user, at=iso(at)))['result'],
                         'scheduled')
        self.call('migratePause', {'user': user})
        row = self.due(user, at + 60)
        self.assertEqual((row['result'], row['pass']), ('paused', '1'), row)
        self.assertEqual(self.rig.messages('dst', user), [])
        # resume of a scheduled user only un-pauses: the pass starts at its time
        self.call('migrateResume', {'user': user})
        self.assertEqual(self.due(user, at - 60)['result'], 'waiting')
        row = self.due(user, at + 60)
        self.assertEqual(row['result'], 'started', row)
        self.assertEqual(self.wait_state(user, ('ok', 'partial', 'failed'))['state'], 'ok')
        self.assertEqual(self.due(user, at + 120)['result'], 'done')
        self.assert_exactly(user, expected)

    def test_sigterm_at_shutdown_restarts_migrate_stop_holds(self):
        user = 'stopped'
        expected = self.source_now()
        at = int(time.time()) + 600
        self.call('migrateStart', self.params(user, at=iso(at), maxRate=SLOW_RATE))
        self.assertEqual(self.due(user, at + 10)['result'], 'started')

        def running_after(copied):
            s = read_status(self.rig, user)
            return s if s and s.get('state') == 'running' and int(s.get('copied', 0)) > copied else None
        # systemd's SIGTERM at shutdown: the run ends "stopped", the schedule restarts it
        pid = int(wait_for(lambda: running_after(5), timeout=60, step=0.1)['pid'])
        os.kill(pid, signal.SIGTERM)
        self.assertEqual(self.wait_state(user, ('stopped',))['state'], 'stopped')
        row = self.due(user, at + 70)
        self.assertEqual((row['result'], row['pass']), ('restarted', '1'), row)
        self.assertIn('ended stopped', row['message'])
        # migrate stop is on purpose: the job is held, schedule-due leaves it
        self.assertIsNotNone(wait_for(lambda: running_after(0), timeout=60, step=0.1))
        self.assertEqual(self.call('migrateStop', {'user': user})['result'], 'stopped')
        row = self.due(user, at + 130)
        self.assertEqual((row['result'], row['pass']), ('held', '1'), row)
        self.assertEqual(self.status(user)['state'], 'stopped')
        # until resumed
        self.assertIn(self.call('migrateResume', {'user': user})['result'], ('started', 'resumed'))
        self.assertEqual(self.wait_state(user, ('ok', 'partial', 'failed'))['state'], 'ok')
        self.assertEqual(self.due(user, at + 190)['result'], 'done')
        self.assert_exactly(user, expected)

    def test_pause_between_the_passes(self):
        user = 'between'
        expected = self.source_now()
        self.call('migrateStart', self.params(user, secondPassAfter='3'))   # first pass now
        self.assertEqual(self.wait_state(user, ('ok', 'partial', 'failed'))['state'], 'ok')
        row = self.due(user, int(time.time()))
        self.assertEqual((row['result'], row['pass']), ('waiting', '2'), row)
        second_at = unix(row['next_run'])
        self.assertEqual(self.status(user)['state'], 'scheduled')
        self.assertEqual(self.call('migratePause', {'user': user})['result'], 'paused')
        row = self.due(user, second_at + 60)
        self.assertEqual((row['result'], row['pass']), ('paused', '2'), row)
        # resume only un-pauses: the second pass starts at its time, not now
        self.assertEqual(self.call('migrateResume', {'user': user})['result'], 'scheduled')
        st = self.status(user)
        self.assertEqual((st['state'], st['next_run']), ('scheduled', iso(second_at)), st)
        self.assertEqual(self.due(user, second_at - 60)['result'], 'waiting')
        self.assertEqual(self.due(user, second_at + 60)['result'], 'started')
        second = self.wait_state(user, ('ok', 'partial', 'failed'))
        self.assertEqual((second['state'], int(second['copied'])), ('ok', 0), second)
        self.assertEqual(self.due(user, second_at + 120)['result'], 'done')
        self.assert_exactly(user, expected)

    def test_a_schedule_that_cannot_start_is_removed_and_said_so(self):
        user = 'lost'
        at = int(time.time()) + 3600
        self.assertEqual(self.call('migrateStart', self.params(user, at=iso(at)))['result'],
                         'scheduled')
        os.remove(self.rig.state_path(user, 'secret'))   # e.g. an admin cleaning up by hand
        r = self.rig.doveadm('-f', 'tab', 'migrate', 'schedule-due', '-u', user, '--now', iso(at + 60))
        self.assertEqual(r.returncode, 78, r.stdout + r.stderr)   # EX_CONFIG
        self.assertIn('the stored source password is gone', r.stdout)
        self.assertIn('schedule removed', r.stdout)
        self.assertFalse(os.path.exists(self.rig.state_path(user, 'schedule')))
        # the command line with -A: rows only for users with a schedule (here: none left)
        r = self.rig.doveadm('-f', 'tab', 'migrate', 'schedule-due', '-A', check=True)
        self.assertEqual(r.stdout.strip().splitlines()[1:], [], r.stdout)

    def test_bad_times_are_refused_naming_the_option(self):
        bad_at = self.call('migrateStart', self.params('idle', at='tomorrow'))
        self.assertEqual(bad_at['result'], 'failed', bad_at)
        self.assertIn('--at tomorrow: not a time', bad_at['message'])
        bad_after = self.call('migrateStart', self.params('idle', at=iso(time.time() + 60),
                                                          secondPassAfter='0'))
        self.assertEqual(bad_after['result'], 'failed', bad_after)
        self.assertIn('--second-pass-after 0: must be more than 0', bad_after['message'])
        self.assertFalse(os.path.exists(self.rig.state_path('idle', 'schedule')))
        self.assertEqual(self.status('idle')['state'], 'never')
        resp = self.rig.http_api([['migrateScheduleDue', {'user': 'idle', 'now': 'soon'}, 'b3']])
        self.assertEqual(resp, [['error', {'type': 'exitCode', 'exitCode': 64}, 'b3']])
        self.assertIn('--now soon: not a time', self.rig.dst.log_when('--now soon'))
        # a user without a schedule gives no row
        self.assertEqual(self.call_rows('migrateScheduleDue', {'user': 'idle'}), [])


if __name__ == '__main__':
    unittest.main()
