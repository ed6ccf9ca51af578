
document.querySelectorAll("table.sortable").forEach(function(t){
  t.querySelectorAll("th").forEach(function(th,i){
    th.addEventListener("click",function(){
      var body=t.tBodies[0], rows=Array.prototype.slice.call(body.rows);
      var asc=th.getAttribute("data-dir")!=="asc";
      t.querySelectorAll("th").forEach(function(h){h.removeAttribute("data-dir")});
      th.setAttribute("data-dir",asc?"asc":"desc");
      function key(r){var c=r.cells[i];var v=c.hasAttribute("data-v")?c.getAttribute("data-v"):c.textContent;
        var n=parseFloat(v);return (v!==""&&!isNaN(n)&&isFinite(v))?n:v.toLowerCase();}
      rows.sort(function(a,b){var x=key(a),y=key(b);
        if(typeof x!==typeof y){return (typeof x==="number"?-1:1)*(asc?1:-1);}
        return (x<y?-1:x>y?1:0)*(asc?1:-1);});
      rows.forEach(function(r){body.appendChild(r)});
    });
  });
});
