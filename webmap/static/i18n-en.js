// English chrome of the map page (?lang=en); names and data stay as recorded, in Chinese.
window.GD_I18N = {
  loading: "Loading…", code: "Code", area: "area about", km2: "km²", children: "Subdivisions",
  lineLength: "Computed length (generalised data, shorter than surveyed)", km: "km", state: "State",
  chooseMarker: "{n} markers here, choose one:",
  record: "Open the record", provinces: "Provinces (with neighbours)", cities: "Prefecture cities",
  counties: "Counties", lines: "Boundary lines", markers: "Boundary markers (demo data)", places: "Place names",
  provLine: "Provincial line", cityLine: "City line", legend: "Legend (markers by last inspection state)",
  demoNote: "Markers are demonstration data (演示数据)", tileError: "Some tiles failed to load; try again shortly"
};
