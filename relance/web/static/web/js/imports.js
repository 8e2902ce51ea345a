// Imports: refuse a file over the size limit before sending it (the server checks it again).
document.addEventListener("change", (event) => {
  const input = event.target.closest("form.upload input[type=file]");
  if (!input) return;
  const form = input.form;
  const limit = Number(form.dataset.maxBytes || 0);
  const error = document.getElementById("id_file_error");
  const file = input.files && input.files[0];
  const tooBig = Boolean(file && limit && file.size > limit);
  input.setCustomValidity(tooBig ? form.dataset.tooBig : "");
  if (error) error.textContent = tooBig ? form.dataset.tooBig : "";
});
