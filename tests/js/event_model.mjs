// Payload's "Event Model" example, as the reference writes it: only the
// gateway's address (a browser page's own origin) and the key are given
// from outside (PAYMESH_URL, PAYMESH_KEY). Prints the example's line for
// each change, the change itself as JSON after "data ", and "connected"
// or "refused <why>" as the connection goes.
import { io } from 'socket.io-client';

const url = process.env.PAYMESH_URL;
const key = process.env.PAYMESH_KEY;

var socket = io.connect(url + '/client',{
    transports: ['websocket'],
    query: {
        access_token: key
    }
})

socket.on('change', function(data) {
    console.log('[' + data.evt + '] ' + data.object + ': ' + data.id)
    console.log('data ' + JSON.stringify(data))
})

socket.on('connect', function() {
    console.log('connected')
})

socket.on('connect_error', function(error) {
    console.log('refused ' + error.message)
    process.exit(0)
})
