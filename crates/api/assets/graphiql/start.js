// Starts GraphiQL against this server: queries and mutations over HTTP, subscriptions over a
// WebSocket (graphql-transport-ws). The Headers tab's credentials (`Authorization` or
// `X-API-Key`) go with every request and, as connection_init's payload, with the WebSocket.
(function () {
  var url = new URL('/graphql', window.location.href).href;
  function headers() {
    try {
      return JSON.parse(window.localStorage.getItem('graphiql:headers') || '{}');
    } catch (error) {
      return {};
    }
  }
  var wsClient = graphqlWs.createClient({
    url: url.replace(/^http/, 'ws'),
    connectionParams: headers,
    lazy: true,
  });
  var defaultQuery = [
    '# Log in (the one request that needs no credentials), then open Headers below and put',
    '#   {"Authorization": "Bearer <accessToken>"}',
    '# to run everything else as that user.',
    'mutation LogIn {',
    '  login(username: "admin", password: "") {',
    '    accessToken',
    '  }',
    '}',
    '',
    'query Inbox {',
    '  conversations(pagination: {first: 20}) {',
    '    edges { node { id status unreadCount lastMessage { text } } }',
    '    pageInfo { hasNextPage endCursor }',
    '  }',
    '}',
    '',
  ].join('\n');
  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, {
      fetcher: GraphiQL.createFetcher({ url: url, wsClient: wsClient }),
      defaultQuery: defaultQuery,
      defaultEditorToolsVisibility: true,
    })
  );
})();
