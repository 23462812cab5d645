#include "engine/run_schedule.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <sstream>
#include <vector>

#include "common/strings.h"
#include "common/textfile.h"

namespace migrate {
namespace {

const textfile::RecordFormat kFormat = {
    "dovecot-migrate-schedule", static_cast<uint32_t>(kRunScheduleVersion), "schedule",
    "the file is damaged: start the migration again with its schedule (doveadm migrate start --at ...), "
    "which replaces it"};
constexpr int64_t kDay = 86400;
constexpr int64_t kMaxAhead = 366 * kDay;
constexpr int64_t kMaxSecondPassAfter = 30 * kDay;
// The pass's start is recorded with the clock read BEFORE the run starts, and the run writes its
// status with a later reading of the same clock: a status of this pass is never older.
constexpr int64_t kStartedSlack = 0;

const char* const kPassKey[2] = {"first", "second"};

Status badAt(const std::string& option, const std::string& text, const std::string& why) {
  return Status(
      ErrorKind::Config, option + " " + printableText(text, 60) + ": " + why,
      "give e.g. 2026-12-07T22:00 (this server's local time), 2026-12-07T22:00+01:00, 22:00 (the next "
      "22:00) or unix seconds");
}

bool allDigits(const std::string& s) {
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    if (c < '0' || c > '9') {
      return false;
    }
  }
  return true;
}

// `n` digits at `pos` (advanced past them).
bool digits(const std::string& s, size_t& pos, size_t n, int& out) {
  if (pos + n > s.size()) {
    return false;
  }
  int v = 0;
  for (size_t i = 0; i < n; i++) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') {
      return false;
    }
    v = v * 10 + (c - '0');
  }
  pos += n;
  out = v;
  return true;
}

bool expect(const std::string& s, size_t& pos, char c) {
  if (pos < s.size() && s[pos] == c) {
    pos++;
    return true;
  }
  return false;
}

// "HH:MM" or "HH:MM:SS" at pos.
bool parseClock(const std::string& s, size_t& pos, int& h, int& m, int& sec) {
  sec = 0;
  if (!digits(s, pos, 2, h) || !expect(s, pos, ':') || !digits(s, pos, 2, m)) {
    return false;
  }
  if (expect(s, pos, ':') && !digits(s, pos, 2, sec)) {
    return false;
  }
  return h <= 23 && m <= 59 && sec <= 59;
}

bool leapYear(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int daysInMonth(int y, int mon) {
  static const int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return mon == 2 && leapYear(y) ? 29 : kDays[mon - 1];
}

// Time fields -> unix: local time (mktime decides whether DST applies), or UTC.
int64_t fieldsToUnix(bool local, int y, int mon, int d, int h, int m, int sec) {
  struct tm tm {};
  tm.tm_year = y - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = m;
  tm.tm_sec = sec;
  tm.tm_isdst = -1;
  return static_cast<int64_t>(local ? ::mktime(&tm) : ::timegm(&tm));
}

int64_t localTime(int y, int mon, int d, int h, int m, int sec) {
  return fieldsToUnix(true, y, mon, d, h, m, sec);
}

std::string hoursText(int64_t seconds) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", static_cast<double>(seconds) / 3600.0);
  return buf;
}

void wait(ScheduleDecision& d, std::string reason) {
  d.action = ScheduleDecision::Action::Wait;
  d.reason = std::move(reason);
}

std::string passName(int pass) {
  return "pass " + std::to_string(pass);
}

}  // namespace

bool schedulePending(const std::string& dir) {
  struct stat st {};
  return ::stat((dir + "/" + kRunScheduleFile).c_str(), &st) == 0;
}

std::string serializeRunSchedule(const RunSchedule& s) {
  std::ostringstream o;
  o << textfile::recordHeader(kFormat);
  o << "created\t" << s.created << '\n';
  o << "first_at\t" << s.firstAt << '\n';
  o << "second_after\t" << s.secondAfter << '\n';
  for (int k = 0; k < 2; k++) {
    o << kPassKey[k] << "_started\t" << s.pass[k].started << '\n';
    o << kPassKey[k] << "_ended\t" << s.pass[k].ended << '\n';
    o << kPassKey[k] << "_restarts\t" << s.pass[k].restarts << '\n';
    o << kPassKey[k] << "_pid\t" << s.pass[k].pid << '\n';
  }
  return o.str();
}

namespace {

// One key of the schedule file into `s`; false for a bad value.
bool setScheduleField(RunSchedule& s, const std::string& key, const std::string& value) {
  bool ok = true;
  if (key == "created") {
    ok = textfile::parseI64(value, s.created);
  } else if (key == "first_at") {
    ok = textfile::parseI64(value, s.firstAt);
  } else if (key == "second_after") {
    ok = textfile::parseI64(value, s.secondAfter) && s.secondAfter >= 0;
  } else {
    for (int k = 0; k < 2; k++) {
      const std::string prefix = std::string(kPassKey[k]) + "_";
      if (key == prefix + "started") {
        ok = textfile::parseI64(value, s.pass[k].started);
      } else if (key == prefix + "ended") {
        ok = textfile::parseI64(value, s.pass[k].ended);
      } else if (key == prefix + "restarts") {
        ok = textfile::parseU32(value, s.pass[k].restarts);
      } else if (key == prefix + "pid") {
        ok = textfile::parseI64(value, s.pass[k].pid);
      }
    }
  }  // unknown keys: a newer minor version, ignored
  return ok;
}

}  // namespace

Result<RunSchedule> parseRunSchedule(const std::string& text) {
  RunSchedule s;
  MIGRATE_RETURN_IF_ERROR(textfile::parseRecords(
      text, kFormat,
      [&s](const std::string& key, const std::string& value) { return setScheduleField(s, key, value); }));
  return s;
}

Result<std::optional<RunSchedule>> readRunSchedule(const std::string& dir) {
  return textfile::readRecordFile<RunSchedule>(dir + "/" + kRunScheduleFile, 64u << 10, parseRunSchedule);
}

Status writeRunSchedule(const std::string& dir, const RunSchedule& schedule) {
  return textfile::writeFileAtomic(dir + "/" + kRunScheduleFile, serializeRunSchedule(schedule), true);
}

Status removeRunSchedule(const std::string& dir) {
  const std::string path = dir + "/" + kRunScheduleFile;
  if (std::remove(path.c_str()) < 0 && errno != ENOENT) {
    return textfile::sysError("cannot remove the schedule", path);
  }
  return Status::ok();
}

int lockRunSchedule(const std::string& dir, bool wait) {
  const std::string path = dir + "/" + kRunScheduleLockFile;
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
  if (fd < 0) {
    return -1;
  }
  int rc = 0;
  do {
    rc = ::flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB));
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    const int saved = errno;
    ::close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

ScheduleDecision decideSchedule(const RunSchedule& schedule, const ScheduleObservation& seen, int64_t now,
                                int64_t wallNow) {
  ScheduleDecision d;
  d.updated = schedule;
  RunSchedule& s = d.updated;
  for (int k = 0; k < s.passes(); k++) {
    SchedulePass& p = s.pass[k];
    const int pass = k + 1;
    d.pass = pass;
    if (p.ended > 0) {
      continue;
    }
    if (p.started == 0) {
      const int64_t due = k == 0 ? s.firstAt : s.pass[0].ended + s.secondAfter;
      d.nextRun = due;
      if (seen.paused) {
        wait(d, "paused; " + passName(pass) + " is due at " + isoTime(due) + " (migrate resume to continue)");
      } else if (now < due) {
        wait(d, passName(pass) + " is due at " + isoTime(due));
      } else if (seen.runActive) {
        wait(d, passName(pass) + " is due; another run of this user is going, the pass starts after it");
      } else {
        d.action = ScheduleDecision::Action::Start;
        d.reason = passName(pass) + " was due at " + isoTime(due);
      }
      return d;
    }
    if (seen.runActive) {
      wait(d, passName(pass) + " is running");
      return d;
    }
    // The pass's run (by its pid), or a later run of the user (migrate resume continued it).
    const bool ownStatus = seen.status && seen.status->state != "scheduled" &&
                           seen.status->started >= p.started - kStartedSlack &&
                           (p.pid == 0 || seen.status->pid == p.pid || seen.status->started > p.started);
    std::string why;
    if (ownStatus) {
      const RunStatus& st = *seen.status;
      if (st.state == "ok" || st.state == "partial" || st.state == "failed") {
        p.ended = st.finished > 0 ? st.finished : (st.updated > 0 ? st.updated : wallNow);
        d.changed = true;
        continue;
      }
      why = st.state == "running" ? "its run ended without a result (killed, crashed or a reboot)"
                                  : "its run ended " + st.state;
    } else if (wallNow - p.started < kPassStartGraceSeconds) {
      wait(d, passName(pass) + " is starting");
      return d;
    } else {
      why = "its run never wrote a status";
    }
    if (seen.paused) {
      wait(d, "paused during " + passName(pass) + " (migrate resume to continue)");
      return d;
    }
    if (p.restarts >= kMaxPassRestarts) {
      // A run that dies every time: give up on this pass rather than start it every minute.
      p.ended = wallNow;
      d.changed = true;
      d.reason = passName(pass) + " given up after " + std::to_string(p.restarts) + " restarts (" + why + ")";
      continue;
    }
    d.action = ScheduleDecision::Action::Start;
    d.restart = true;
    d.reason = passName(pass) + " restarted: " + why;
    return d;
  }
  d.action = ScheduleDecision::Action::Finished;
  d.nextRun = 0;
  if (d.reason.empty()) {
    d.reason = "the last pass has ended";
  }
  return d;
}

void markPassStarted(RunSchedule& schedule, int pass, bool restart, int64_t wallNow, int64_t pid) {
  SchedulePass& p = schedule.pass[pass == 2 ? 1 : 0];
  p.started = wallNow;
  p.pid = pid;
  p.ended = 0;
  if (restart) {
    p.restarts++;
  }
}

int64_t scheduleNextRun(const RunSchedule& s) {
  if (s.pass[0].started == 0) {
    return s.firstAt;
  }
  if (s.passes() == 2 && s.pass[0].ended > 0 && s.pass[1].started == 0) {
    return s.pass[0].ended + s.secondAfter;
  }
  return 0;
}

bool scheduleWaitingForPass(const RunSchedule& s) {
  for (int k = 0; k < s.passes(); k++) {
    if (s.pass[k].ended == 0) {
      return s.pass[k].started == 0;
    }
  }
  return false;
}

bool scheduleWaiting(const std::string& dir) {
  Result<std::optional<RunSchedule>> s = readRunSchedule(dir);
  return s.isOk() && s.value() && scheduleWaitingForPass(*s.value());
}

Result<int64_t> parseScheduleTime(const std::string& raw, int64_t now, const std::string& option) {
  std::string text = raw;
  while (!text.empty() && text.back() == ' ') {
    text.pop_back();
  }
  while (!text.empty() && text.front() == ' ') {
    text.erase(0, 1);
  }
  int64_t t = 0;
  if (allDigits(text) && text.size() <= 12) {
    if (!textfile::parseI64(text, t)) {
      return badAt(option, raw, "not a time");
    }
  } else if (text.size() <= 8 && text.find('-') == std::string::npos) {
    size_t pos = 0;
    int h = 0, m = 0, sec = 0;
    if (!parseClock(text, pos, h, m, sec) || pos != text.size()) {
      return badAt(option, raw, "not a time");
    }
    // The next occurrence after now, in local time (mktime normalises the day after).
    const time_t nowT = static_cast<time_t>(now);
    struct tm today {};
    ::localtime_r(&nowT, &today);
    t = localTime(today.tm_year + 1900, today.tm_mon + 1, today.tm_mday, h, m, sec);
    if (t <= now) {
      t = localTime(today.tm_year + 1900, today.tm_mon + 1, today.tm_mday + 1, h, m, sec);
    }
  } else {
    size_t pos = 0;
    int y = 0, mon = 0, d = 0, h = 0, m = 0, sec = 0;
    if (!digits(text, pos, 4, y) || !expect(text, pos, '-') || !digits(text, pos, 2, mon) ||
        !expect(text, pos, '-') || !digits(text, pos, 2, d)) {
      return badAt(option, raw, "not a time");
    }
    if (mon < 1 || mon > 12 || d < 1 || d > daysInMonth(y, mon)) {
      return badAt(option, raw, "no such date");
    }
    if (!(expect(text, pos, 'T') || expect(text, pos, 't') || expect(text, pos, ' '))) {
      return badAt(option, raw, "a date needs a time of day (e.g. 2026-12-07T22:00)");
    }
    if (!parseClock(text, pos, h, m, sec)) {
      return badAt(option, raw, "not a time of day (HH:MM or HH:MM:SS)");
    }
    if (pos == text.size()) {
      t = localTime(y, mon, d, h, m, sec);
    } else {
      int64_t offset = 0;
      if (expect(text, pos, 'Z') || expect(text, pos, 'z')) {
        offset = 0;
      } else {
        const char sign = text[pos];
        if (sign != '+' && sign != '-') {
          return badAt(option, raw, "unexpected text after the time");
        }
        pos++;
        int oh = 0, om = 0;
        if (!digits(text, pos, 2, oh)) {
          return badAt(option, raw, "bad UTC offset (+HH:MM)");
        }
        expect(text, pos, ':');
        if (pos < text.size() && !digits(text, pos, 2, om)) {
          return badAt(option, raw, "bad UTC offset (+HH:MM)");
        }
        if (oh > 14 || om > 59) {
          return badAt(option, raw, "bad UTC offset (+HH:MM)");
        }
        offset = (sign == '-' ? -1 : 1) * (int64_t{oh} * 3600 + int64_t{om} * 60);
      }
      if (pos != text.size()) {
        return badAt(option, raw, "unexpected text after the time");
      }
      t = fieldsToUnix(false, y, mon, d, h, m, sec) - offset;
    }
  }
  if (t < now - kDay) {
    return badAt(option, raw, "that is " + hoursText(now - t) + " hours ago (" + isoTime(t) + ")");
  }
  if (t > now + kMaxAhead) {
    return badAt(option, raw, "that is more than a year ahead (" + isoTime(t) + ")");
  }
  return t;
}

Result<int64_t> parseSecondPassAfter(const std::string& raw) {
  auto bad = [&raw](const std::string& why) {
    return Status(
        ErrorKind::Config, "--second-pass-after " + printableText(raw, 40) + ": " + why,
        "give the hours after the end of the first pass, e.g. 23, 1.5, 36h or 90m (at most 30 days)");
  };
  std::string text = raw;
  double unit = 3600;
  if (!text.empty() && (text.back() == 'h' || text.back() == 'H')) {
    text.pop_back();
  } else if (!text.empty() && (text.back() == 'm' || text.back() == 'M')) {
    text.pop_back();
    unit = 60;
  }
  const size_t dot = text.find('.');
  const std::string whole = text.substr(0, dot);
  const std::string frac = dot == std::string::npos ? std::string() : text.substr(dot + 1);
  if (!allDigits(whole) || (dot != std::string::npos && !allDigits(frac)) || whole.size() > 6 ||
      frac.size() > 6) {
    return bad("not a number of hours");
  }
  // By hand rather than strtod, which follows the locale's decimal point.
  double value = static_cast<double>(std::stoll(whole));
  double scale = 1;
  for (char c : frac) {
    scale /= 10;
    value += (c - '0') * scale;
  }
  const auto seconds = static_cast<int64_t>(std::llround(value * unit));
  if (seconds <= 0) {
    return bad("must be more than 0 (leave the option out for one pass)");
  }
  if (seconds > kMaxSecondPassAfter) {
    return bad("more than 30 days");
  }
  return seconds;
}

}  // namespace migrate
