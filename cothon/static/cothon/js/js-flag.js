/* Loaded blocking in <head> (not inline: the Content-Security-Policy allows no inline script),
   so CSS can tell a page with JavaScript from one without before the first paint. */
document.documentElement.classList.add("js");
