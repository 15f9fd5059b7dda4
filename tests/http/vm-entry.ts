// The entry point of the vm test's bundle: the http layer as the prelude will install it, and
// serve() for the test's script. No exports, so the ES module bundle is also a plain script.
import { installHttpGlobals, serve, type Connect } from "../../runtime/js/prelude/http/index.ts";

const g = globalThis as unknown as { __host: { connect: Connect }; __zigu_http: unknown };
installHttpGlobals(globalThis, { connect: g.__host.connect });
g.__zigu_http = { serve };
