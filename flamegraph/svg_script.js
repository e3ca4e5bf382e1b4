"use strict";
/* waitprof flame graph: details on hover, click to zoom, regex search.
 * Everything it needs is read from the document: settings from fg:
 * attributes on <svg>, frame names from each frame's <title> text. */
var FGNS = "urn:waitprof:flamegraph";
var svg, framesEl, details, matchedEl, unzoomBtn, searchBtn;
var frames = [], total = 0, width = 0, xpad = 10, fontsize = 12, fontwidth = 0.59;
var inverted = false, currentSearch = null, zoomed = null;

function num(e, name) { return parseFloat(e.getAttributeNS(FGNS, name)); }

function frameInfo(g) {
	var title = g.getElementsByTagName("title")[0].textContent;
	var cut = title.lastIndexOf(" (");
	var r = g.getElementsByTagName("rect")[0];
	return {
		g: g, rect: r, text: g.getElementsByTagName("text")[0], title: title,
		name: cut >= 0 ? title.substring(0, cut) : title,
		x: num(g, "x"), w: num(g, "w"), y: parseFloat(r.getAttribute("y")),
		fill: r.getAttribute("fill")
	};
}

function init(evt) {
	svg = document.documentElement;
	framesEl = document.getElementById("frames");
	details = document.getElementById("details");
	matchedEl = document.getElementById("matched");
	unzoomBtn = document.getElementById("unzoom");
	searchBtn = document.getElementById("search");
	width = parseFloat(svg.getAttribute("width"));
	xpad = num(svg, "xpad");
	fontsize = num(svg, "fontsize");
	fontwidth = num(svg, "fontwidth");
	inverted = num(svg, "inverted") === 1;
	var gs = framesEl.getElementsByTagName("g");
	for (var i = 0; i < gs.length; i++) {
		frames.push(frameInfo(gs[i]));
		gs[i].setAttribute("data-i", i);
	}
	if (frames.length)
		total = frames[0].w;
	framesEl.addEventListener("mouseover", function (e) {
		var f = frameOf(e.target);
		if (f)
			details.textContent = "Function: " + f.title;
	});
	framesEl.addEventListener("mouseout", function () { details.textContent = " "; });
	framesEl.addEventListener("click", function (e) {
		var f = frameOf(e.target);
		if (f)
			zoom(f);
	});
	unzoomBtn.addEventListener("click", unzoom);
	searchBtn.addEventListener("click", searchPrompt);
	window.addEventListener("keydown", function (e) {
		if ((e.ctrlKey && e.key === "f") || e.key === "F3") {
			e.preventDefault();
			searchPrompt();
		} else if (e.key === "Escape") {
			resetSearch();
			unzoom();
		}
	});
	applyParams();
}

/* ?s=REGEX searches, ?z=N zooms to the Nth frame (document order). */
function applyParams() {
	var q = window.location.search, params;
	if (!q || typeof URLSearchParams === "undefined")
		return;
	params = new URLSearchParams(q);
	if (params.get("z") !== null && frames[parseInt(params.get("z"), 10)])
		zoom(frames[parseInt(params.get("z"), 10)]);
	if (params.get("s") !== null)
		search(params.get("s"));
}

function frameOf(el) {
	while (el && el !== framesEl) {
		if (el.getAttribute && el.getAttribute("class") === "f" ||
		    el.getAttribute && /(^| )f( |$)/.test(el.getAttribute("class") || ""))
			return frames[parseInt(el.getAttribute("data-i"), 10)];
		el = el.parentNode;
	}
	return null;
}

function label(name, w) {
	var fit = Math.floor(w / (fontsize * fontwidth));
	name = name.replace(/_\[[kijw]\]$/, "");
	if (fit < 3)
		return "";
	if (name.length <= fit)
		return name;
	return name.substring(0, fit - 2) + "..";
}

function place(f, x, w) {
	f.rect.setAttribute("x", x.toFixed(1));
	f.rect.setAttribute("width", w.toFixed(1));
	f.text.setAttribute("x", (x + 3).toFixed(2));
	f.text.textContent = label(f.name, w);
}

function setClass(f, cls) {
	f.g.setAttribute("class", cls ? "f " + cls : "f");
}

/* Zoom: f fills the width; its ancestors stay full width and dimmed; its
 * descendants scale with it; everything else hides. */
function zoom(z) {
	var scale = (width - 2 * xpad) / z.w;
	zoomed = z;
	unzoomBtn.setAttribute("class", "");
	for (var i = 0; i < frames.length; i++) {
		var f = frames[i];
		var outer = inverted ? f.y < z.y : f.y > z.y;
		if (outer && f.x <= z.x && f.x + f.w >= z.x + z.w) {
			setClass(f, "parent");
			place(f, xpad, width - 2 * xpad);
		} else if (!outer && f.x >= z.x && f.x + f.w <= z.x + z.w &&
			   (f.y !== z.y || f === z)) {
			setClass(f, "");
			place(f, xpad + (f.x - z.x) * scale, f.w * scale);
		} else {
			setClass(f, "hide");
		}
	}
	if (currentSearch !== null)
		search(currentSearch);
}

function unzoom() {
	var scale = total ? (width - 2 * xpad) / total : 0;
	zoomed = null;
	unzoomBtn.setAttribute("class", "hide");
	for (var i = 0; i < frames.length; i++) {
		setClass(frames[i], "");
		place(frames[i], xpad + frames[i].x * scale, frames[i].w * scale);
	}
}

function searchPrompt() {
	if (currentSearch !== null) {
		resetSearch();
		return;
	}
	var term = window.prompt("Search for a regular expression (e.g. ^futex)", "");
	if (term)
		search(term);
}

function resetSearch() {
	currentSearch = null;
	for (var i = 0; i < frames.length; i++)
		frames[i].rect.setAttribute("fill", frames[i].fill);
	matchedEl.textContent = " ";
	searchBtn.textContent = "Search";
}

/* Highlights matching frames and reports the share of the total they cover,
 * counting nested matches once (union of their value ranges). */
function search(term) {
	var re, spans = [], covered = 0, end = -1;
	try {
		re = new RegExp(term);
	} catch (err) {
		matchedEl.textContent = "Bad regular expression";
		return -1;
	}
	currentSearch = term;
	for (var i = 0; i < frames.length; i++) {
		var f = frames[i];
		if (i > 0 && re.test(f.name)) {
			f.rect.setAttribute("fill", "rgb(230,0,230)");
			spans.push([f.x, f.x + f.w]);
		} else {
			f.rect.setAttribute("fill", f.fill);
		}
	}
	spans.sort(function (a, b) { return a[0] - b[0]; });
	for (var j = 0; j < spans.length; j++) {
		var s = Math.max(spans[j][0], end);
		if (spans[j][1] > s)
			covered += spans[j][1] - s;
		end = Math.max(end, spans[j][1]);
	}
	var pct = total ? 100 * covered / total : 0;
	matchedEl.textContent = "Matched: " + pct.toFixed(2) + "%";
	searchBtn.textContent = "Reset Search";
	return pct;
}
