// Reads an iCalendar file with ical.js (Mozilla's parser, vendored under vendor/) and
// prints its events as JSON: what tests/agenda/test_feed.py compares with two Python parsers.
import { readFileSync } from "node:fs";
import ICAL from "./vendor/ical.js/ical.min.mjs";

const calendar = new ICAL.Component(ICAL.parse(readFileSync(process.argv[2], "utf8")));
for (const zone of calendar.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(zone);
}
const events = calendar.getAllSubcomponents("vevent").map((component) => {
  const event = new ICAL.Event(component);
  return {
    uid: event.uid,
    sequence: event.sequence,
    status: component.getFirstPropertyValue("status"),
    start: event.startDate.toJSDate().toISOString(),
    end: event.endDate.toJSDate().toISOString(),
    tzid: event.startDate.zone.tzid,
    summary: event.summary,
    location: event.location,
  };
});
console.log(JSON.stringify({ name: calendar.getFirstPropertyValue("x-wr-calname"), events }));
