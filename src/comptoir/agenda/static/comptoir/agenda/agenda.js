/* The agenda page: FullCalendar fed by the agenda API, one colour per technician.
 *
 * Times travel as Paris wall-clock strings ("2026-03-29T10:00:00"): the calendar runs
 * in the named time zone Europe/Paris without a time-zone plugin, so FullCalendar
 * keeps them as given, and the API reads a date-time without offset as Paris time.
 * A drag or a resize posts the version the page saw; a stale one (409) puts the event
 * back and reloads; a double booking (409) asks for confirmation first.
 */
(function () {
  "use strict";

  var root = document.getElementById("agenda-calendar");
  if (!root || !window.FullCalendar) {
    return;
  }
  var config = JSON.parse(document.getElementById("agenda-config").textContent);
  var csrf = document.querySelector("input[name=csrfmiddlewaretoken]").value;
  var status = document.getElementById("agenda-status");

  function say(text) {
    status.textContent = text;
  }

  function wallClock(date) {
    // In a named time zone without a plugin, a Date's UTC fields hold the wall-clock time.
    return date.toISOString().slice(0, 19);
  }

  function chosenTechnicians() {
    return Array.prototype.map.call(
      document.querySelectorAll("input[name=technician]:checked"),
      function (box) { return box.value; }
    );
  }

  function toEvent(item) {
    return {
      id: item.id,
      title: item.summary + (item.address ? " — " + item.address : ""),
      start: item.start.slice(0, 19),
      end: item.end.slice(0, 19),
      backgroundColor: item.technician.color,
      borderColor: item.technician.color,
      textColor: item.technician.text_color,
      url: item.url,
      editable: config.canChange && item.status === "planned",
      classNames: item.status === "cancelled" ? ["agenda-cancelled"] : [],
      extendedProps: { version: item.version, technician: item.technician.id, raw: item }
    };
  }

  function loadEvents(info, success, failure) {
    var params = new URLSearchParams({ start: info.startStr.slice(0, 19), end: info.endStr.slice(0, 19) });
    var boxes = document.querySelectorAll("input[name=technician]");
    var chosen = chosenTechnicians();
    if (boxes.length && !chosen.length) {
      success([]);
      return;
    }
    if (boxes.length && chosen.length < boxes.length) {
      chosen.forEach(function (id) { params.append("technician", id); });
    }
    fetch(config.eventsUrl + "?" + params.toString(), { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(function (items) {
        success(items.map(toEvent));
        say("");
      })
      .catch(function (error) {
        say(config.texts.failed);
        failure(error);
      });
  }

  function send(event, confirmOverlap) {
    var body = {
      start: wallClock(event.start),
      end: wallClock(event.end || new Date(event.start.getTime() + 3600000)),
      version: event.extendedProps.version,
      confirm_overlap: Boolean(confirmOverlap)
    };
    return fetch(config.moveUrl.replace("__id__", event.id), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().then(function (data) { return { status: response.status, data: data }; });
    });
  }

  function move(info, confirmOverlap) {
    return send(info.event, confirmOverlap).then(function (answer) {
      if (answer.status === 200) {
        info.event.setExtendedProp("version", answer.data.version);
        say(answer.data.summary + " : " + answer.data.start.slice(11, 16) + "–" + answer.data.end.slice(11, 16));
        return answer;
      }
      if (answer.status === 409 && answer.data.code === "double_booking" && !confirmOverlap) {
        if (window.confirm(answer.data.message)) {
          return move(info, true);
        }
        info.revert();
        return answer;
      }
      info.revert();
      window.alert(answer.data.message || config.texts.failed);
      if (answer.data.code === "stale_version") {
        calendar.refetchEvents();
      }
      return answer;
    }).catch(function () {
      info.revert();
      say(config.texts.failed);
    });
  }

  var calendar = new FullCalendar.Calendar(root, {
    locale: "fr",
    timeZone: "Europe/Paris",
    initialView: config.initialView,
    initialDate: config.initialDate || undefined,
    headerToolbar: {
      left: "prev,next today",
      center: "title",
      right: "dayGridMonth,timeGridWeek,timeGridDay,listWeek"
    },
    height: "auto",
    slotMinTime: "07:00:00",
    slotMaxTime: "20:00:00",
    scrollTime: "08:00:00",
    allDaySlot: false,
    nowIndicator: true,
    weekNumbers: true,
    eventStartEditable: config.canChange,
    eventDurationEditable: config.canChange,
    selectable: config.canAdd,
    selectMirror: true,
    events: loadEvents,
    eventDrop: function (info) { move(info, false); },
    eventResize: function (info) { move(info, false); },
    select: function (info) {
      var params = new URLSearchParams({ start: info.startStr.slice(0, 19), end: info.endStr.slice(0, 19) });
      var chosen = chosenTechnicians();
      if (chosen.length === 1) { params.set("technician", chosen[0]); }
      window.location.href = config.addUrl + "?" + params.toString();
    }
  });
  calendar.render();
  // The toolbar's arrows are decorative spans with role="img" and no text: the buttons
  // carry the name (their title), so hide the icons from assistive technologies.
  root.querySelectorAll(".fc-icon").forEach(function (icon) {
    icon.setAttribute("aria-hidden", "true");
    icon.removeAttribute("role");
  });

  document.querySelectorAll("input[name=technician]").forEach(function (box) {
    box.addEventListener("change", function () { calendar.refetchEvents(); });
  });

  // For scripts and tests: the calendar, and a move as a drag would make it.
  window.comptoirAgenda = {
    calendar: calendar,
    move: function (id, start, end) {
      var event = calendar.getEventById(id);
      var info = {
        event: {
          id: id,
          start: new Date(start + "Z"),
          end: new Date(end + "Z"),
          extendedProps: event ? event.extendedProps : { version: 1 }
        },
        revert: function () {}
      };
      return send(info.event, false).then(function (answer) {
        calendar.refetchEvents();
        return answer;
      });
    }
  };
})();
