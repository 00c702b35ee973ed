// Sending files: the Attach button and dropping files onto the conversation, each uploaded to
// POST /api/chat/upload with a progress bar (XMLHttpRequest: fetch cannot report upload
// progress), then sent as an image message (PNG, JPEG, GIF, WebP: shown inline) or a file
// message. The server sniffs the type and signs the URL; the client trusts neither the name
// nor its own guess.

import { ApiError } from './api.js';
import { $ } from './dom.js';
import { errorText, formatSize } from './format.js';
import { toast } from './notices.js';

const INLINE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);
const MAX_BYTES = 25 * 1024 * 1024; // the server's default UPLOAD_MAX_BYTES; it has the last word

/** The message content for an upload reply: an image shown inline, or a file to download. */
export function contentForUpload(data) {
  if (INLINE_TYPES.has(data.content_type) && Number.isInteger(data.width)) {
    return { type: 'image', url: data.url, width: data.width, height: data.height };
  }
  return { type: 'file', url: data.url, file_name: data.file_name, size: data.size };
}

/** Needs: sendContent(content, roomId) (composer.js). */
export function createUploads({ state, api, sendContent }) {
  let busy = false;

  function post(file, token, onProgress) {
    return new Promise((resolve, reject) => {
      const request = new XMLHttpRequest();
      request.open('POST', '/api/chat/upload');
      request.setRequestHeader('Authorization', `Bearer ${token}`);
      request.setRequestHeader('Accept', 'application/json');
      request.upload.addEventListener('progress', (event) => {
        if (event.lengthComputable) onProgress(event.loaded / event.total);
      });
      request.addEventListener('load', () => {
        let envelope = null;
        try {
          envelope = JSON.parse(request.responseText);
        } catch {
          envelope = null;
        }
        if (request.status === 200 && envelope && envelope.code === 0) resolve(envelope.data);
        else reject(new ApiError(request.status, envelope?.msg || `The server answered ${request.status}.`, envelope?.errors));
      });
      request.addEventListener('error', () => reject(new ApiError(0, 'The server cannot be reached. Check your connection and try again.')));
      const form = new FormData();
      form.append('file', file, file.name);
      request.send(form);
    });
  }

  function showProgress(file, fraction) {
    $('upload-status').hidden = false;
    $('upload-label').textContent = `Uploading ${file.name} (${formatSize(file.size)}): ${Math.round(fraction * 100)}%`;
    $('upload-progress').value = Math.round(fraction * 100);
  }

  async function upload(file) {
    const roomId = state.current;
    if (roomId === null) return;
    if (file.size > MAX_BYTES) {
      toast(`${file.name} is larger than ${formatSize(MAX_BYTES)}: it cannot be sent.`);
      return;
    }
    showProgress(file, 0);
    try {
      if (!(await api.ensureFreshToken())) return;
      let data;
      try {
        data = await post(file, api.session.token, (fraction) => showProgress(file, fraction));
      } catch (error) {
        if (error.status !== 401 || !(await api.refreshToken())) throw error;
        data = await post(file, api.session.token, (fraction) => showProgress(file, fraction));
      }
      sendContent(contentForUpload(data), roomId);
    } catch (error) {
      toast(`${file.name} was not sent: ${errorText(error)}`);
    } finally {
      $('upload-status').hidden = true;
    }
  }

  async function uploadAll(files) {
    if (busy) {
      toast('Wait until the file being sent is done.');
      return;
    }
    busy = true;
    try {
      for (const file of files) await upload(file);
    } finally {
      busy = false;
    }
  }

  $('attach-button').addEventListener('click', () => $('attach-input').click());
  $('attach-input').addEventListener('change', () => {
    const files = [...$('attach-input').files];
    $('attach-input').value = '';
    uploadAll(files);
  });

  const chat = document.querySelector('.chat');
  const carriesFiles = (event) => [...(event.dataTransfer?.types || [])].includes('Files');
  chat.addEventListener('dragover', (event) => {
    if (!carriesFiles(event) || state.current === null) return;
    event.preventDefault();
    chat.classList.add('dropping');
  });
  chat.addEventListener('dragleave', (event) => {
    if (!chat.contains(event.relatedTarget)) chat.classList.remove('dropping');
  });
  chat.addEventListener('drop', (event) => {
    chat.classList.remove('dropping');
    if (!carriesFiles(event) || state.current === null) return;
    event.preventDefault();
    uploadAll([...event.dataTransfer.files]);
  });

  return { uploadAll };
}
