/* The day's map: the technician's stops, numbered in order and joined by a line. */
(function () {
  "use strict";

  var element = document.getElementById("agenda-map");
  if (!element || !window.L) {
    return;
  }
  var stops = JSON.parse(document.getElementById("agenda-stops").textContent);
  var config = JSON.parse(document.getElementById("agenda-map-config").textContent);
  var map = L.map(element, { scrollWheelZoom: false });
  if (config.tiles) {
    L.tileLayer(config.tiles, { maxZoom: 19, attribution: config.attribution }).addTo(map);
  }
  var points = [];
  stops.forEach(function (stop) {
    var point = [stop.lat, stop.lon];
    points.push(point);
    var icon = L.divIcon({
      className: "",
      html: '<span class="agenda-stop" style="background:' + config.colour + ";color:" +
        config.textColour + '">' + stop.number + "</span>",
      iconSize: [28, 28],
      iconAnchor: [14, 14]
    });
    var link = document.createElement("a");
    link.href = stop.url;
    link.textContent = stop.start + "–" + stop.end + " · " + stop.summary;
    var popup = document.createElement("div");
    popup.appendChild(link);
    popup.appendChild(document.createElement("br"));
    popup.appendChild(document.createTextNode(stop.address));
    L.marker(point, { icon: icon, title: stop.number + ". " + stop.address, alt: stop.address })
      .bindPopup(popup)
      .addTo(map);
  });
  if (points.length > 1) {
    L.polyline(points, { color: config.colour, weight: 3, opacity: 0.8 }).addTo(map);
  }
  if (points.length === 1) {
    map.setView(points[0], 15);
  } else {
    map.fitBounds(points, { padding: [30, 30] });
  }
})();
