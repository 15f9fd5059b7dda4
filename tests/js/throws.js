// An uncaught exception after a timer: the error and its stack, status 1.
console.log("before");
setTimeout(() => {
  function inner() {
    throw new TypeError("boom");
  }
  inner();
}, 1);
