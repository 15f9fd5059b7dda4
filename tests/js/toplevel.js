// A throw at the top level of the module, after some output: the error once, then status 1.
console.log("start");
throw new SyntaxError("at the top");
