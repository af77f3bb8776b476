public import Foundation
public import ServiceRuntime

/// When a team works, in its own time zone: working hours per weekday, holidays, and make-up
/// working days (a weekend day worked in exchange for a holiday, as Chinese public holidays are
/// arranged). SLA clocks count only the minutes inside these hours.
///
/// A value: every function is pure, so a clock is computed the same way in a handler, in the
/// sweep and in a test.
public struct BusinessCalendar: Sendable, Hashable {
    /// Minutes after local midnight, `start` included, `end` excluded (`540..<720` is 09:00-12:00).
    public typealias Shift = Range<Int>

    public var name: String
    public var timeZone: TimeZone
    /// By weekday, 1 = Sunday ... 7 = Saturday (Foundation's numbering); a missing day is not worked.
    public var hours: [Int: [Shift]]
    public var holidays: Set<LocalDate>
    /// Weekend (or other non-working) days worked as if they were `makeUpHoursFrom`'s weekday.
    public var makeUpWorkingDays: Set<LocalDate>
    public var makeUpHoursFrom: Int

    public init(
        name: String, timeZone: TimeZone, hours: [Int: [Shift]], holidays: Set<LocalDate> = [], makeUpWorkingDays: Set<LocalDate> = [],
        makeUpHoursFrom: Int = 2
    ) {
        self.name = name
        self.timeZone = timeZone
        self.hours = hours
        self.holidays = holidays
        self.makeUpWorkingDays = makeUpWorkingDays
        self.makeUpHoursFrom = makeUpHoursFrom
    }

    /// Monday to Friday 09:00-12:00 and 13:00-18:00 (8 hours) in `timeZone`.
    public static func weekdays(name: String = "standard", timeZone: TimeZone, holidays: Set<LocalDate> = [], makeUpWorkingDays: Set<LocalDate> = []) -> BusinessCalendar {
        let day: [Shift] = [540..<720, 780..<1080]
        return BusinessCalendar(
            name: name, timeZone: timeZone, hours: [2: day, 3: day, 4: day, 5: day, 6: day], holidays: holidays,
            makeUpWorkingDays: makeUpWorkingDays)
    }

    public func localDate(of instant: Date) -> LocalDate {
        let local = instant.timeIntervalSince1970 + Double(timeZone.secondsFromGMT(for: instant))
        return LocalDate(daysSinceEpoch: Int((local / 86_400).rounded(.down)))
    }

    /// The instant the clocks on the wall show `minute` minutes after midnight of `day` (in an
    /// hour skipped by a daylight-saving change, the offset after the change applies).
    func instant(_ day: LocalDate, minute: Int) -> Date {
        let wall = Double(day.daysSinceEpoch * 86_400 + minute * 60)
        let guess = wall - Double(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: wall)))
        return Date(timeIntervalSince1970: wall - Double(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: guess))))
    }

    /// The worked shifts of one day, as instants.
    public func workingIntervals(on day: LocalDate) -> [Range<Date>] {
        guard !holidays.contains(day) else { return [] }
        let shifts = makeUpWorkingDays.contains(day) ? hours[makeUpHoursFrom] ?? [] : hours[day.weekday] ?? []
        return shifts.map { instant(day, minute: $0.lowerBound)..<instant(day, minute: $0.upperBound) }
    }

    private func nextDay(_ day: LocalDate) -> LocalDate { day.adding(days: 1) }

    /// The longest stretch searched for working time: a calendar with no working day in ten
    /// years is a configuration mistake, not a reason to loop forever.
    static let searchDays = 3_660

    /// The instant `minutes` business minutes after `start`, or nil if the calendar has no working
    /// time ahead. A case opened outside working hours starts counting at the next working moment;
    /// 0 minutes is `start` itself (a zero target is due at once).
    public func adding(minutes: Int, to start: Date) -> Date? {
        adding(seconds: Double(minutes * 60), to: start)
    }

    /// The instant `seconds` business seconds after `start` (see ``adding(minutes:to:)``).
    public func adding(seconds: Double, to start: Date) -> Date? {
        guard seconds > 0 else { return start }
        var remaining = seconds
        var day = localDate(of: start)
        for _ in 0..<Self.searchDays {
            for interval in workingIntervals(on: day) where interval.upperBound > start {
                let from = max(interval.lowerBound, start)
                let available = interval.upperBound.timeIntervalSince(from)
                if remaining <= available { return from.addingTimeInterval(remaining) }
                remaining -= available
            }
            day = nextDay(day)
        }
        return nil
    }

    /// Business seconds between two instants (0 if `end` is not after `start`).
    public func businessSeconds(from start: Date, to end: Date) -> Double {
        guard end > start else { return 0 }
        var total = 0.0
        var day = localDate(of: start)
        let last = localDate(of: end)
        for _ in 0..<Self.searchDays {
            for interval in workingIntervals(on: day) {
                let from = max(interval.lowerBound, start)
                let to = min(interval.upperBound, end)
                if to > from { total += to.timeIntervalSince(from) }
            }
            if day >= last { break }
            day = nextDay(day)
        }
        return total
    }

    /// Whole business minutes between two instants.
    public func businessMinutes(from start: Date, to end: Date) -> Int {
        Int(businessSeconds(from: start, to: end) / 60)
    }
}
