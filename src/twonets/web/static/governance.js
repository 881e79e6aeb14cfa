// Data governance pages: a select marked data-autosubmit submits its form when changed
// (the page keeps a button for browsers without scripts).
document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
  select.addEventListener("change", () => select.form.submit());
});
