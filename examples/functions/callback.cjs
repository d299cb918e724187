// A callback-style CommonJS handler, as written for the older Lambda Node runtimes.
exports.handler = function (event, context, callback) {
  setTimeout(() => callback(null, { statusCode: 201, headers: { 'x-style': 'callback' }, body: 'created' }), 5);
};
