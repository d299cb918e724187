// The 2023 binaries we load (see README, "uWebSockets.js") have App.close(), which their typings omit.
import 'uWebSockets.js';
declare module 'uWebSockets.js' {
  interface TemplatedApp {
    /** Closes every listen socket and connection of this app. */
    close(): TemplatedApp;
  }
}
