// process.exit ends the workload at once with its status; nothing after it runs.
console.log("exiting with 3");
setTimeout(() => console.log("never"), 1);
process.exit(3);
