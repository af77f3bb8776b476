import Foundation
import ServiceDeskService
import ServiceRuntime
import Testing

/// SLA clocks against a business calendar, with the expected instants worked out by hand from the
/// calendar in each test. Working hours everywhere: Monday to Friday 09:00-12:00 and 13:00-18:00,
/// Asia/Shanghai. November 2026: Monday the 23rd ... Friday the 27th, Saturday 28, Sunday 29,
/// Monday 30, Tuesday 1 December.
@Suite("SLA clocks and business calendars")
struct SLAClockTests {
    static let shanghai = TimeZone(identifier: "Asia/Shanghai")!

    /// A local wall-clock time in Shanghai.
    static func at(_ day: Int, _ hour: Int, _ minute: Int = 0, month: Int = 11) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = shanghai
        return calendar.date(from: DateComponents(year: 2026, month: month, day: day, hour: hour, minute: minute))!
    }

    @Test("opened Friday 17:00, 4 business hours, Monday a holiday: due Tuesday 12:00")
    func fridayEveningAndMondayHoliday() {
        let calendar = BusinessCalendar.weekdays(timeZone: Self.shanghai, holidays: [LocalDate("2026-11-30")!])
        // Friday 17:00-18:00 counts 1 h; Saturday and Sunday are not worked; Monday the 30th is a
        // holiday; Tuesday 09:00-12:00 counts the other 3 h.
        let opened = Self.at(27, 17)
        var clock = SLAClock(metric: .resolution, startedAt: opened, targetMinutes: 240, warningPercent: 75)
        #expect(clock.dueAt(in: calendar) == Self.at(1, 12, month: 12))
        // 75% is 3 h: Friday's hour, then Tuesday 09:00-11:00.
        #expect(clock.warningAt(in: calendar) == Self.at(1, 11, month: 12))
        #expect(calendar.businessMinutes(from: opened, to: Self.at(1, 10, 30, month: 12)) == 150)
        // Nothing fires over the weekend or the holiday, however often the sweep looks.
        for hour in [20, 23] { #expect(clock.evaluate(at: Self.at(27, hour), in: calendar).isEmpty) }
        #expect(clock.evaluate(at: Self.at(30, 17), in: calendar).isEmpty)
        #expect(clock.evaluate(at: Self.at(1, 11, month: 12), in: calendar) == [.warning(.resolution)])
        #expect(clock.evaluate(at: Self.at(1, 11, 59, month: 12), in: calendar).isEmpty)
        #expect(clock.evaluate(at: Self.at(1, 12, month: 12), in: calendar) == [.breach(.resolution)])
        #expect(clock.state == .breached)
    }

    @Test("a make-up working Saturday counts as a working day with Monday's hours")
    func makeUpSaturday() {
        let calendar = BusinessCalendar.weekdays(timeZone: Self.shanghai, makeUpWorkingDays: [LocalDate("2026-11-28")!])
        // Friday 17:00-18:00 is 1 h; Saturday the 28th is worked 09:00-12:00 (3 h): due Saturday 12:00.
        let clock = SLAClock(metric: .resolution, startedAt: Self.at(27, 17), targetMinutes: 240, warningPercent: 80)
        #expect(clock.dueAt(in: calendar) == Self.at(28, 12))
        // Without the make-up day the same case is due Monday 12:00.
        let ordinary = BusinessCalendar.weekdays(timeZone: Self.shanghai)
        #expect(clock.dueAt(in: ordinary) == Self.at(30, 12))
    }

    @Test("a case opened at night starts counting at the next working moment")
    func openedOutsideHours() {
        let calendar = BusinessCalendar.weekdays(timeZone: Self.shanghai)
        // Opened Tuesday 02:00; 60 minutes: Tuesday 09:00-10:00. Lunch is not counted: 4 h from
        // Tuesday 10:30 is 10:30-12:00 (1.5 h) and 13:00-15:30 (2.5 h).
        #expect(calendar.adding(minutes: 60, to: Self.at(24, 2)) == Self.at(24, 10))
        #expect(calendar.adding(minutes: 240, to: Self.at(24, 10, 30)) == Self.at(24, 15, 30))
        #expect(calendar.businessMinutes(from: Self.at(24, 11), to: Self.at(24, 14)) == 120)
    }

    @Test("pause and resume: the paused business hours are not counted, the pause is kept")
    func pauseAndResume() {
        let calendar = BusinessCalendar.weekdays(timeZone: Self.shanghai)
        // 8 h target from Monday 09:00. Paused Monday 11:00 (2 h counted) until Tuesday 14:00.
        // 6 h left from Tuesday 14:00: 14:00-18:00 (4 h), Wednesday 09:00-11:00 (2 h): due Wednesday 11:00.
        var clock = SLAClock(metric: .resolution, startedAt: Self.at(23, 9), targetMinutes: 480, warningPercent: 75)
        clock.pause(at: Self.at(23, 11))
        #expect(clock.state == .paused)
        #expect(clock.dueAt(in: calendar) == nil)
        #expect(clock.evaluate(at: Self.at(25, 17), in: calendar).isEmpty, "a paused clock never fires")
        #expect(clock.elapsedSeconds(at: Self.at(24, 12), in: calendar) == 2 * 3600)
        clock.resume(at: Self.at(24, 14), in: calendar)
        #expect(clock.state == .inProgress)
        #expect(clock.dueAt(in: calendar) == Self.at(25, 11))
        // 75% = 6 h: 2 h Monday, 4 h Tuesday afternoon: the warning is due Tuesday 18:00.
        #expect(clock.warningAt(in: calendar) == Self.at(24, 18))
        #expect(clock.pauses.count == 1)
        #expect(clock.pauses[0].start == Self.at(23, 11) && clock.pauses[0].end == Self.at(24, 14))
        // Resolved Wednesday 10:30: 7.5 h counted, met.
        clock.stop(at: Self.at(25, 10, 30), in: calendar)
        #expect(clock.state == .met)
        #expect(clock.elapsedSeconds(at: Self.at(26, 10), in: calendar) == 7.5 * 3600)
    }

    @Test("warning and breach fire once each, also for a clock restored from its stored fields")
    func firesOnceAcrossRestore() {
        let calendar = BusinessCalendar.weekdays(timeZone: Self.shanghai)
        var clock = SLAClock(metric: .firstResponse, startedAt: Self.at(23, 9), targetMinutes: 60, warningPercent: 50)
        #expect(clock.evaluate(at: Self.at(23, 9, 30), in: calendar) == [.warning(.firstResponse)])
        // What a restart reloads: the stored fields, including that the warning fired.
        var restored = SLAClock(
            metric: clock.metric, startedAt: clock.startedAt, targetMinutes: clock.targetMinutes, warningPercent: clock.warningPercent,
            pauses: clock.pauses, stoppedAt: clock.stoppedAt, state: clock.state, warningFired: clock.warningFired,
            breachFired: clock.breachFired)
        #expect(restored.evaluate(at: Self.at(23, 9, 45), in: calendar).isEmpty)
        #expect(restored.evaluate(at: Self.at(23, 10), in: calendar) == [.breach(.firstResponse)])
        #expect(restored.evaluate(at: Self.at(23, 17), in: calendar).isEmpty)
        // A late evaluation that passes both thresholds at once fires both, once.
        var late = SLAClock(metric: .resolution, startedAt: Self.at(23, 9), targetMinutes: 60, warningPercent: 50)
        #expect(late.evaluate(at: Self.at(24, 9), in: calendar) == [.warning(.resolution), .breach(.resolution)])
        #expect(late.evaluate(at: Self.at(24, 10), in: calendar).isEmpty)
        // Stopping a breached clock leaves it breached.
        late.stop(at: Self.at(24, 10), in: calendar)
        #expect(late.state == .breached)
    }

    @Test("a grade change re-targets an open clock, keeping the time counted")
    func retarget() {
        let calendar = BusinessCalendar.weekdays(timeZone: Self.shanghai)
        // 16 h target from Monday 09:00; at Monday 14:00 (4 h counted) the customer becomes a top
        // grade customer whose policy gives 6 h: due Monday 09:00 + 6 h = 16:00.
        var clock = SLAClock(metric: .resolution, startedAt: Self.at(23, 9), targetMinutes: 960, warningPercent: 80)
        #expect(clock.dueAt(in: calendar) == Self.at(24, 18))
        #expect(clock.evaluate(at: Self.at(23, 14), in: calendar).isEmpty)
        clock.retarget(minutes: 360, warningPercent: 80)
        #expect(clock.dueAt(in: calendar) == Self.at(23, 16))
        // Tightened below what was already counted: the next evaluation fires both at once.
        clock.retarget(minutes: 180, warningPercent: 80)
        #expect(clock.evaluate(at: Self.at(23, 14, 1), in: calendar) == [.warning(.resolution), .breach(.resolution)])
        // A stopped clock is not re-targeted.
        clock.stop(at: Self.at(23, 15), in: calendar)
        clock.retarget(minutes: 9_999, warningPercent: 80)
        #expect(clock.targetMinutes == 180)
    }

    @Test("a cancelled clock never fires")
    func cancelled() {
        let calendar = BusinessCalendar.weekdays(timeZone: Self.shanghai)
        var clock = SLAClock(metric: .resolution, startedAt: Self.at(23, 9), targetMinutes: 60, warningPercent: 50)
        clock.cancel(at: Self.at(23, 9, 10))
        #expect(clock.evaluate(at: Self.at(30, 9), in: calendar).isEmpty)
        #expect(clock.state == .cancelled)
    }

    @Test("dates parse strictly")
    func localDates() {
        #expect(LocalDate("2026-02-29") == nil)
        #expect(LocalDate("2028-02-29") != nil)
        #expect(LocalDate("2026-1-01") == nil)
        #expect(LocalDate("2026-10-01")?.description == "2026-10-01")
        #expect(LocalDate("1900-02-29") == nil)
        #expect(LocalDate("2000-02-29") != nil)
    }

    @Test("day arithmetic agrees with Foundation's Gregorian calendar on every day from 1900 to 2100")
    func dayArithmetic() {
        var gregorian = Calendar(identifier: .gregorian)
        gregorian.timeZone = TimeZone(identifier: "UTC")!
        var date = gregorian.date(from: DateComponents(year: 1900, month: 1, day: 1))!
        var days = LocalDate(year: 1900, month: 1, day: 1).daysSinceEpoch
        #expect(days == -25_567)
        var mismatches = 0
        while gregorian.component(.year, from: date) <= 2100 {
            let parts = gregorian.dateComponents([.year, .month, .day, .weekday], from: date)
            let local = LocalDate(daysSinceEpoch: days)
            if local != LocalDate(year: parts.year!, month: parts.month!, day: parts.day!) || local.weekday != parts.weekday!
                || local.daysSinceEpoch != days || Int(date.timeIntervalSince1970) != days * 86_400
            {
                mismatches += 1
            }
            date = gregorian.date(byAdding: .day, value: 1, to: date)!
            days += 1
        }
        #expect(mismatches == 0)
        #expect(days == LocalDate(year: 2101, month: 1, day: 1).daysSinceEpoch)
    }

    @Test("a calendar in a zone with daylight saving counts wall-clock working hours on the change days")
    func daylightSaving() throws {
        // Europe/London: clocks go forward at 01:00 UTC on 29 March 2026 (a Sunday), back on 25 October.
        let london = TimeZone(identifier: "Europe/London")!
        let sevenDays: [BusinessCalendar.Shift] = [540..<1020]
        let calendar = BusinessCalendar(name: "london", timeZone: london, hours: Dictionary(uniqueKeysWithValues: (1...7).map { ($0, sevenDays) }))
        let utc = { (month: Int, day: Int, hour: Int) in
            var gregorian = Calendar(identifier: .gregorian)
            gregorian.timeZone = TimeZone(identifier: "UTC")!
            return gregorian.date(from: DateComponents(year: 2026, month: month, day: day, hour: hour))!
        }
        // 09:00-17:00 local: GMT on Saturday 28 March, BST (UTC+1) on Sunday 29 March.
        #expect(calendar.workingIntervals(on: LocalDate(year: 2026, month: 3, day: 28)) == [utc(3, 28, 9)..<utc(3, 28, 17)])
        #expect(calendar.workingIntervals(on: LocalDate(year: 2026, month: 3, day: 29)) == [utc(3, 29, 8)..<utc(3, 29, 16)])
        #expect(calendar.workingIntervals(on: LocalDate(year: 2026, month: 10, day: 25)) == [utc(10, 25, 9)..<utc(10, 25, 17)])
        #expect(calendar.localDate(of: utc(3, 29, 23)) == LocalDate(year: 2026, month: 3, day: 30), "23:00 UTC is 00:00 BST")
        #expect(calendar.businessMinutes(from: utc(3, 28, 0), to: utc(3, 30, 0)) == 16 * 60)
    }
}
