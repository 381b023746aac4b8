// The door page's camera: reads a ticket's QR code into the code field and sends the form.
// The browser's own BarcodeDetector is used where there is one; elsewhere jsQR (vendored,
// Apache-2.0, see LICENSE.jsqr.txt) is loaded on first use. Without a camera, a script or a
// permission the page works as before: the code is typed.

const scanner = document.getElementById("scanner");
const start = document.getElementById("scan-start");
const video = document.getElementById("scan-video");
const status = document.getElementById("scan-status");
const form = document.getElementById("code-form");
const field = document.getElementById("f-code");

function loadJsQR() {
  if (window.jsQR) return Promise.resolve(window.jsQR);
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = "/static/jsQR.js";
    script.onload = () => (window.jsQR ? resolve(window.jsQR) : reject(new Error("no decoder")));
    script.onerror = () => reject(new Error("the decoder did not load"));
    document.head.appendChild(script);
  });
}

async function reader() {
  if ("BarcodeDetector" in window) {
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      if (formats.includes("qr_code")) {
        const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
        return async (source) => {
          const found = await detector.detect(source);
          return found.length ? found[0].rawValue : null;
        };
      }
    } catch (e) {
      // fall through to jsQR
    }
  }
  const jsQR = await loadJsQR();
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  return async (source) => {
    const w = source.videoWidth;
    const h = source.videoHeight;
    if (!w || !h) return null;
    canvas.width = w;
    canvas.height = h;
    context.drawImage(source, 0, 0, w, h);
    const found = jsQR(context.getImageData(0, 0, w, h).data, w, h, { inversionAttempts: "dontInvert" });
    return found ? found.data : null;
  };
}

async function scan() {
  start.disabled = true;
  status.textContent = "Starting the camera…";
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
  } catch (e) {
    status.textContent = "The camera could not be used. Type the code instead.";
    start.disabled = false;
    return;
  }
  video.srcObject = stream;
  video.hidden = false;
  await video.play();
  status.textContent = "Hold the ticket's QR code in front of the camera.";
  let read;
  try {
    read = await reader();
  } catch (e) {
    status.textContent = "Scanning is not available here. Type the code instead.";
    stream.getTracks().forEach((t) => t.stop());
    video.hidden = true;
    start.disabled = false;
    return;
  }
  const tick = async () => {
    const code = await read(video).catch(() => null);
    if (code) {
      stream.getTracks().forEach((t) => t.stop());
      field.value = code;
      status.textContent = "Read " + code + ". Checking in…";
      // The next page starts the camera again, so a queue is scanned without a tap each.
      window.sessionStorage.setItem("door-scanning", "yes");
      form.submit();
      return;
    }
    window.setTimeout(tick, 150);
  };
  tick();
}

if (scanner && navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
  scanner.hidden = false;
  start.addEventListener("click", scan);
  // A code typed and sent by hand stops the camera coming back.
  form.addEventListener("submit", () => window.sessionStorage.removeItem("door-scanning"));
  if (window.sessionStorage.getItem("door-scanning") === "yes") {
    window.sessionStorage.removeItem("door-scanning");
    scan();
  }
}

// The figures follow the other doors: read again every 15 seconds while the page is shown.
const counts = document.getElementById("counts");
if (counts && window.fetch) {
  const show = (id, value) => {
    const el = document.getElementById(id);
    if (el && el.textContent !== String(value)) el.textContent = String(value);
  };
  window.setInterval(async () => {
    if (document.hidden) return;
    try {
      const answer = await fetch(counts.dataset.source, { credentials: "same-origin", headers: { accept: "application/json" } });
      if (!answer.ok) return;
      const figures = await answer.json();
      show("count-arrived", figures.arrived);
      show("count-to-come", figures.to_come);
      show("count-expected", figures.expected);
    } catch (e) {
      // The page keeps the figures it has.
    }
  }, 15000);
}
