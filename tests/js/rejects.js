// An unhandled rejection ends the workload with status 1, after printing the reason.
Promise.reject(new RangeError("nobody handles this"));
setTimeout(() => console.log("never"), 50);
